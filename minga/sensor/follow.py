"""Following growing log files, as `tail -F` does: appended whole lines are read as they come; a
file replaced by rotation (another inode) or truncated is read again from its start, so nothing
written after the sensor started is missed or read twice."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import BinaryIO

import numpy as np

from minga.sensor.readers import Batch, ReadError, detect, read_bytes


@dataclass
class Followed:
    path: str
    kind: str | None = None
    inode: int | None = None
    offset: int = 0  # bytes of whole lines already read
    lines: int = 0  # lines already read
    header: bytes = b""  # Zeek TSV '#' header / nfdump column line, given again to each chunk
    rotations: int = 0
    errors: list[str] = field(default_factory=list)
    fh: BinaryIO | None = None

    def poll(self) -> list[Batch]:
        """The records appended since the last poll (several batches across a rotation)."""
        found: list[Batch] = []
        if self.fh is None and not self._open():
            return found
        assert self.fh is not None
        if os.fstat(self.fh.fileno()).st_size < self.offset:  # truncated in place
            self.rotations += 1
            self._restart()
        found += self._drain(final=False)
        try:
            inode = os.stat(self.path).st_ino
        except FileNotFoundError:
            inode = None  # renamed away; keep reading the old file until a new one appears
        if inode is not None and inode != self.inode:
            found += self._drain(final=True)  # what was written before the rotation
            self.fh.close()
            self.fh = None
            self.rotations += 1
            if self._open():
                found += self._drain(final=False)
        return found

    def resume(self, inode: int, offset: int, lines: int, header: bytes, kind: str | None) -> None:
        """Continue from a saved position when the file is still the one it was read from
        (the same inode, not shorter); otherwise it is read from its start."""
        if self.fh is None and not self._open():
            return
        assert self.fh is not None
        if self.inode == inode and os.fstat(self.fh.fileno()).st_size >= offset:
            self.offset, self.lines, self.header = offset, lines, header
            self.kind = kind or self.kind

    def close(self) -> None:
        if self.fh is not None:
            self.fh.close()
            self.fh = None

    def _open(self) -> bool:
        try:
            self.fh = open(self.path, "rb")  # noqa: SIM115 (kept open across polls, like tail -F)
        except FileNotFoundError:
            return False
        self.inode = os.fstat(self.fh.fileno()).st_ino
        self._restart()
        return True

    def _restart(self) -> None:
        self.offset, self.lines, self.header = 0, 0, b""

    def _drain(self, final: bool) -> list[Batch]:
        assert self.fh is not None
        self.fh.seek(self.offset)
        chunk = self.fh.read()
        if final and chunk and not chunk.endswith(b"\n"):
            chunk += b"\n"  # the old file is complete: its last line too
        cut = chunk.rfind(b"\n")
        if cut < 0:
            return []  # a line still being written
        chunk = chunk[: cut + 1]
        first = self.offset == 0
        self.offset += len(chunk)
        base = self.lines
        self.lines += chunk.count(b"\n")
        if first:
            try:
                self.kind = self.kind or detect(self.path, chunk)
            except ReadError as exc:
                self.errors.append(str(exc))
                return []
            self.header = self._header(chunk)
            buf, shift = chunk, 0
        else:
            buf, shift = self.header + chunk, base - self.header.count(b"\n")
        if not buf.strip():
            return []
        try:
            batch = read_bytes(self.path, buf, self.kind)
        except ReadError as exc:
            self.errors.append(str(exc))
            return []
        batch.lines = np.asarray(batch.lines + shift, dtype=np.int64)
        batch.malformed = [type(m)(m.path, m.line + shift, m.reason) for m in batch.malformed]
        if not first and self.header:  # header lines given again are not records
            keep = batch.lines > base
            if not keep.all():
                batch.table = batch.table.filter(keep)
                batch.lines = batch.lines[keep]
        return [batch]

    def _header(self, chunk: bytes) -> bytes:
        if self.kind == "netflow":
            return chunk[: chunk.find(b"\n") + 1]
        if self.kind == "zeek" and chunk.startswith(b"#"):
            end = 0
            while chunk.startswith(b"#", end):
                end = chunk.index(b"\n", end) + 1
            return chunk[:end]
        return b""
