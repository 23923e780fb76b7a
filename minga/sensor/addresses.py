"""IP addresses as integers, a whole column at a time: IPv4 text → uint32 with Arrow string
kernels (no Python loop per record); IPv6 (rarer) through `ipaddress`, once per distinct value."""

from __future__ import annotations

import ipaddress

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

DOTTED = r"^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$"


def ipv4_column(column: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """(addresses as uint32, mask of rows that hold a valid dotted IPv4 address)."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    column = column.cast(pa.string())
    n = len(column)
    shaped = pc.match_substring_regex(column, DOTTED).fill_null(False)
    mask = np.asarray(shaped.to_numpy(zero_copy_only=False), dtype=bool)
    out = np.zeros(n, dtype=np.uint32)
    if not mask.any():
        return out, mask
    dotted = column.filter(shaped)
    parts = pc.list_flatten(pc.split_pattern(dotted, "."))
    octets = np.asarray(parts.cast(pa.uint16()).to_numpy(), dtype=np.uint32).reshape(-1, 4)
    good = (octets <= 255).all(axis=1)
    value = (octets[:, 0] << 24) | (octets[:, 1] << 16) | (octets[:, 2] << 8) | octets[:, 3]
    where = np.flatnonzero(mask)
    out[where] = value
    mask[where[~good]] = False
    return out, mask


def parse_network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    """An address or CIDR as listed in an indicator; host bits are ignored, as Zeek does."""
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        return None
