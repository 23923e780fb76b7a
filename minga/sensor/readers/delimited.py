"""Delimited logs (Zeek TSV, nfdump CSV) read whole by pyarrow's CSV reader. Lines are classified
first with numpy (separator counts per line), so each record keeps its line number and each
malformed line is reported by number and skipped."""

from __future__ import annotations

import io

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from minga.sensor.readers.base import Batch, Malformed, line_starts, separators_per_line


def read_delimited(
    path: str,
    buf: bytes,
    log: str,
    names: list[str],
    sep: str,
    skip_lines: int = 0,
    nulls: tuple[str, ...] = (),
) -> Batch:
    """Every line after the first `skip_lines` with exactly len(names) fields is a record; lines
    starting with '#' are comments; empty lines are ignored; anything else is malformed."""
    starts, ends = line_starts(buf)
    count = separators_per_line(buf, starts, ends, ord(sep))
    data = np.frombuffer(buf, dtype=np.uint8)
    empty = ends == starts
    first = data[np.minimum(starts, max(len(data) - 1, 0))] if len(data) else starts
    comment = ~empty & (first == ord("#"))
    after = np.arange(len(starts)) >= skip_lines
    parsed = after & ~empty & (count == len(names) - 1)
    bad = np.flatnonzero(after & ~empty & ~comment & (count != len(names) - 1))
    malformed = [
        Malformed(path, int(i) + 1, f"{int(count[i]) + 1} fields where {len(names)} are expected")
        for i in bad
    ]
    if not parsed.any():
        table = pa.table({n: pa.array([], pa.string()) for n in names})
        return Batch(path, log, table, np.zeros(0, np.int64), malformed)
    table = pacsv.read_csv(
        io.BytesIO(buf),
        read_options=pacsv.ReadOptions(column_names=names, skip_rows=skip_lines, use_threads=False),
        parse_options=pacsv.ParseOptions(
            delimiter=sep, quote_char=False, invalid_row_handler=lambda _row: "skip"
        ),
        convert_options=pacsv.ConvertOptions(
            column_types={n: pa.string() for n in names},
            null_values=list(nulls),
            strings_can_be_null=bool(nulls),
        ),
    )
    lines = np.flatnonzero(parsed) + 1
    keep = ~comment[parsed]
    if not keep.all():  # a '#' line that happens to have the right number of fields
        table = table.filter(pa.array(keep))
        lines = lines[keep]
    return Batch(path, log, table, lines.astype(np.int64), malformed)


def concat(left: pa.ChunkedArray, right: pa.ChunkedArray, between: str = "") -> pa.ChunkedArray:
    """Element-wise string join of two columns (nulls stay null)."""
    return pc.binary_join_element_wise(left, pa.scalar(between), right, pa.scalar(""))
