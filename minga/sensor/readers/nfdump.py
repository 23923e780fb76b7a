"""NetFlow/IPFIX as nfdump CSV (`nfdump -r FILE -o csv`): a header line, one flow per line,
then a 'Summary' block that is not flows."""

from __future__ import annotations

from minga.sensor.readers.base import Batch, ReadError
from minga.sensor.readers.delimited import read_delimited

# nfdump 1.6 (sa, da, …) and 1.7 (srcAddr, dstAddr, …) spell the address columns differently.
ADDRESS_COLUMNS = {"sa", "da", "srcaddr", "dstaddr", "src4_addr", "dst4_addr"}


def looks_like_nfdump(first_line: str) -> bool:
    fields = {f.strip().lower() for f in first_line.split(",")}
    return len(fields & ADDRESS_COLUMNS) >= 2


def read_nfdump(path: str, buf: bytes) -> Batch:
    header = buf.split(b"\n", 1)[0].decode("utf-8", "replace").strip()
    if not looks_like_nfdump(header):
        raise ReadError(f"{path}: not nfdump CSV (no source and destination address columns)")
    names = [n.strip().lower() for n in header.split(",")]
    cut = buf.find(b"\nSummary")
    body = buf if cut < 0 else buf[: cut + 1]
    return read_delimited(path, body, "netflow", names, ",", skip_lines=1)
