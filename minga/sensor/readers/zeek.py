"""Zeek logs: TSV with its '#fields' header, or JSON (one object per line), for conn, dns, http,
ssl, files, x509, notice (and any other log: unknown columns are kept as they are)."""

from __future__ import annotations

import os

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pajson

from minga.sensor.readers.base import Batch, Malformed, ReadError, line_starts
from minga.sensor.readers.delimited import read_delimited

# Columns whose presence says which Zeek log a JSON file is (when the file name does not).
_SIGNATURES = [
    ("conn_state", "conn"),
    ("qtype_name", "dns"),
    ("query", "dns"),
    ("method", "http"),
    ("server_name", "ssl"),
    ("cipher", "ssl"),
    ("certificate.subject", "x509"),
    ("fuid", "files"),
    ("note", "notice"),
    ("auth_success", "ssh"),
]


def log_from_name(path: str) -> str | None:
    """conn.log, conn.log.labeled, conn.00:00:00-01:00:00.log.gz → conn."""
    name = os.path.basename(path).split(".")[0]
    name = name.removeprefix("labeled-")
    return name if name.isidentifier() else None


def read_tsv(path: str, buf: bytes) -> Batch:
    header: dict[str, str] = {}
    skip = 0
    for raw in buf[:65536].split(b"\n"):
        if not raw.startswith(b"#"):
            break
        key, _, value = raw.decode("utf-8", "replace").partition(
            " " if raw.startswith(b"#separator") else "\t"
        )
        header.setdefault(key.lstrip("#"), value)
        skip += 1
    if "fields" not in header:
        raise ReadError(f"{path}: a Zeek TSV log without a #fields line")
    names = header["fields"].split("\t")
    log = header.get("path") or log_from_name(path) or "zeek"
    nulls = (header.get("unset_field", "-"), header.get("empty_field", "(empty)"))
    batch = read_delimited(path, buf, log, names, "\t", skip_lines=skip, nulls=nulls)
    return _derive(batch)


def _guess_log(path: str, keys: set[str]) -> str:
    by_name = log_from_name(path)
    for key, log in _SIGNATURES:
        if key in keys:
            return log
    return by_name or "zeek"


def read_json(path: str, buf: bytes) -> Batch:
    starts, ends = line_starts(buf)
    nonempty = np.flatnonzero(ends > starts)
    malformed: list[Malformed] = []
    try:
        table = pajson.read_json(pa.py_buffer(buf))
        lines = nonempty + 1
    except pa.ArrowInvalid:
        # the columnar reader refuses the whole file over one bad line: redo it line by line
        rows: list[dict[str, str | None]] = []
        kept: list[int] = []
        for i in nonempty:
            try:
                obj = orjson.loads(buf[starts[i] : ends[i]])
                if not isinstance(obj, dict):
                    raise ValueError("not a JSON object")
            except ValueError as exc:
                malformed.append(Malformed(path, int(i) + 1, f"not JSON: {str(exc)[:80]}"))
                continue
            rows.append({k: _text(v) for k, v in obj.items()})
            kept.append(int(i) + 1)
        names = sorted({k for row in rows for k in row})
        table = pa.table({n: pa.array([r.get(n) for r in rows], pa.string()) for n in names})
        lines = np.array(kept, dtype=np.int64)
    log = _guess_log(path, set(table.column_names))
    return _derive(Batch(path, log, table, lines.astype(np.int64), malformed))


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    if isinstance(value, bool):
        return "T" if value else "F"
    return str(value)


def _derive(batch: Batch) -> Batch:
    """Add the columns the matcher wants that Zeek spreads over several fields (http's URL)."""
    table = batch.table
    names = set(table.column_names)
    if {"host", "uri"} <= names and "url" not in names:
        host = table.column("host").cast(pa.string())
        uri = table.column("uri").cast(pa.string())
        url = pc.binary_join_element_wise(pa.scalar("http://"), host, uri, pa.scalar(""))
        batch.table = table.append_column("url", url)
    return batch
