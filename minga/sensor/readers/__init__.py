"""Readers: a log file in, columnar `Batch`es out. `read(path)` recognises the format from the
first line; `read(path, kind)` takes it from the operator (zeek, eve, netflow, syslog)."""

from __future__ import annotations

import gzip
import os
from collections.abc import Iterator

import orjson

from minga.sensor.readers.base import Batch, Malformed, ReadError
from minga.sensor.readers.eve import read_eve
from minga.sensor.readers.nfdump import looks_like_nfdump, read_nfdump
from minga.sensor.readers.syslog import looks_like_syslog, read_syslog
from minga.sensor.readers.zeek import read_json, read_tsv

__all__ = ["KINDS", "Batch", "Malformed", "ReadError", "detect", "read", "read_bytes", "read_paths"]
KINDS = ("zeek", "eve", "netflow", "syslog")


def _load(path: str) -> bytes:
    try:
        with open(path, "rb") as fh:
            buf = fh.read()
    except OSError as exc:
        raise ReadError(f"cannot read {path}: {exc.strerror}") from None
    if path.endswith(".gz"):
        try:
            buf = gzip.decompress(buf)
        except (OSError, EOFError) as exc:
            raise ReadError(f"{path}: not gzip: {exc}") from None
    return buf


def _detect(path: str, buf: bytes) -> str:
    first = buf.lstrip()[:4096].split(b"\n", 1)[0].decode("utf-8", "replace")
    if first.startswith("#separator") or first.startswith("#fields"):
        return "zeek"
    if first.startswith("{"):
        try:
            obj = orjson.loads(first)
        except orjson.JSONDecodeError:
            obj = {}
        return "eve" if isinstance(obj, dict) and "event_type" in obj else "zeek"
    if looks_like_nfdump(first):
        return "netflow"
    if looks_like_syslog(first):
        return "syslog"
    raise ReadError(f"{path}: not a log the sensor knows (Zeek, eve.json, nfdump CSV, syslog)")


def read(path: str, kind: str | None = None) -> Batch:
    buf = _load(path)
    if not buf.strip():
        raise ReadError(f"{path}: empty")
    return read_bytes(path, buf, kind)


def detect(path: str, buf: bytes) -> str:
    """The reader for a log whose first line is in `buf`: zeek, eve, netflow or syslog."""
    return _detect(path, buf)


def read_bytes(path: str, buf: bytes, kind: str | None = None) -> Batch:
    """Records of `buf` (whole lines of `path`); line numbers count from the start of `buf`."""
    kind = kind or _detect(path, buf)
    if kind == "zeek":
        return read_json(path, buf) if buf.lstrip().startswith(b"{") else read_tsv(path, buf)
    if kind == "eve":
        return read_eve(path, buf)
    if kind == "netflow":
        return read_nfdump(path, buf)
    if kind == "syslog":
        return read_syslog(path, buf)
    raise ReadError(f"unknown input kind {kind!r}: use one of {', '.join(KINDS)}")


def read_paths(spec: str) -> Iterator[Batch]:
    """'PATH' or 'KIND:PATH'; a directory yields every log file in it (Zeek's log directory)."""
    prefix, sep, rest = spec.partition(":")
    kind, path = (prefix, rest) if sep and prefix in KINDS else (None, spec)
    if os.path.isdir(path):
        for name in sorted(os.listdir(path)):
            full = os.path.join(path, name)
            if os.path.isfile(full) and ".log" in name:
                yield read(full, kind)
        return
    yield read(path, kind)
