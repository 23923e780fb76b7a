"""What every reader returns: columnar batches with the line number of each record, and the
malformed lines it skipped (counted, never fatal)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa


@dataclass(frozen=True)
class Malformed:
    path: str
    line: int
    reason: str


@dataclass
class Batch:
    """Records of one log type from one file: `table` has one row per record, `lines[i]` is
    the 1-based line number of row i in `path`."""

    path: str
    log: str  # conn, dns, http, ssl, files, x509, notice, eve, netflow, syslog, auth ...
    table: pa.Table
    lines: np.ndarray
    malformed: list[Malformed] = field(default_factory=list)

    @property
    def records(self) -> int:
        return self.table.num_rows


class ReadError(Exception):
    """A file that cannot be read at all (missing, not a log we know): one sentence."""


def line_starts(buf: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Start and end offsets (end excludes the newline) of every line in `buf`, vectorised."""
    data = np.frombuffer(buf, dtype=np.uint8)
    newlines = np.flatnonzero(data == 10)
    ends = newlines if len(data) == 0 or data[-1] == 10 else np.append(newlines, len(data))
    starts = np.concatenate(([0], newlines + 1))[: len(ends)]
    return starts.astype(np.int64), ends.astype(np.int64)


def separators_per_line(buf: bytes, starts: np.ndarray, ends: np.ndarray, sep: int) -> np.ndarray:
    """How many `sep` bytes each line holds, without a Python loop over lines."""
    where = np.flatnonzero(np.frombuffer(buf, dtype=np.uint8) == sep)
    return np.searchsorted(where, ends) - np.searchsorted(where, starts)
