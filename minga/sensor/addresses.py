"""IP addresses as integers, a whole column at a time: IPv4 text → uint32 with Arrow string
kernels (no Python loop per record); IPv6 (rarer) through `ipaddress`, once per distinct value."""

from __future__ import annotations

import ipaddress

import numpy as np
import pyarrow as pa

SLICE = 1 << 18


def ipv4_column(column: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """(addresses as uint32, mask of rows that hold a valid dotted IPv4 address).

    Works on Arrow's string buffers: each value is gathered into a 16-byte row, then the 16
    character positions are scanned column by column (vectorised over all rows)."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    column = column.cast(pa.string())
    n = len(column)
    if n > SLICE:  # bounded temporaries whatever the column's length
        parts = [_ipv4_slice(column.slice(i, SLICE)) for i in range(0, n, SLICE)]
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    return _ipv4_slice(column)


def _ipv4_slice(column: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    n = len(column)
    if n == 0:
        return np.zeros(0, np.uint32), np.zeros(0, bool)
    _, offsets_buf, data_buf = column.buffers()
    offsets = np.frombuffer(offsets_buf, np.int32)[column.offset : column.offset + n + 1]
    raw = np.frombuffer(data_buf, np.uint8) if data_buf is not None else np.zeros(0, np.uint8)
    data = np.concatenate((raw[offsets[0] : offsets[-1]], np.zeros(16, np.uint8)))
    starts = offsets[:-1] - offsets[0]
    lengths = offsets[1:] - offsets[:-1]
    ok = (lengths >= 7) & (lengths <= 15)
    if column.null_count:
        ok &= np.asarray(column.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    # (16, n): character j of every value in one contiguous row, then a Horner scan over j
    width = np.arange(16, dtype=np.int32)[:, None]
    chars = data[starts[None, :] + width]
    chars[width >= lengths[None, :]] = 0
    value = np.zeros(n, np.uint32)
    octet = np.zeros(n, np.uint32)
    digits = np.zeros(n, np.uint8)
    dots = np.zeros(n, np.uint8)
    bad = np.zeros(n, bool)
    for j in range(16):
        c = chars[j]
        digit = c - np.uint8(48)  # wraps past 9 for anything but a digit
        is_digit = digit < 10
        close = (c == 46) | (lengths == j)  # a dot, or the end of the value
        bad |= ~(is_digit | close | (lengths < j))
        bad |= close & ((digits == 0) | (digits > 3) | (octet > 255))
        shift = close.astype(np.uint32) * np.uint32(8)
        value = (value << shift) | (octet * close)
        octet = (octet * np.uint32(10) + digit) * is_digit
        digits = (digits + np.uint8(1)) * is_digit
        dots += close
    ok &= ~bad & (dots == 4)
    return np.where(ok, value, np.uint32(0)).astype(np.uint32), ok


def parse_network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    """An address or CIDR as listed in an indicator; host bits are ignored, as Zeek does."""
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        return None


class Ipv4Index:
    """Listed IPv4 addresses and CIDRs. Single addresses: a sorted uint32 array. CIDR blocks are
    nested or disjoint, so they cut the address space into segments, each owned by the
    innermost block covering it (parents are kept for the outer ones): one searchsorted per
    column whatever the number of prefix lengths."""

    def __init__(self, addresses: np.ndarray, lengths: np.ndarray, owners: np.ndarray) -> None:
        """One listed value per position: network address (uint32), prefix length, owner."""
        exact = lengths == 32
        keys = addresses[exact].astype(np.uint32)
        order = np.argsort(keys, kind="stable")
        keys = keys[order]
        self.exact_owners = owners[exact].astype(np.int32)[order]
        self.exact, starts = np.unique(keys, return_index=True)
        self.exact_offsets = np.append(starts, len(keys)).astype(np.int64)
        blocks: dict[tuple[int, int], list[int]] = {}
        for address, length, owner in zip(
            addresses[~exact].tolist(), lengths[~exact].tolist(), owners[~exact].tolist(),
            strict=True,
        ):  # fmt: skip
            mask = (0xFFFFFFFF << (32 - length)) & 0xFFFFFFFF
            blocks.setdefault((length, address & mask), []).append(owner)
        ordered = sorted(blocks)  # outer (shorter prefix) blocks first
        self.blocks = ordered
        self.block_owners = [blocks[b] for b in ordered]
        first = np.array([a for _, a in ordered], dtype=np.uint64)
        after = first + np.array([1 << (32 - n) for n, _ in ordered], dtype=np.uint64)
        self.bounds = np.unique(np.concatenate((first, after, np.zeros(1, np.uint64))))
        self.segment = np.full(len(self.bounds), -1, dtype=np.int32)
        self.parent = np.full(len(ordered), -1, dtype=np.int32)
        lo = np.searchsorted(self.bounds, first)
        hi = np.searchsorted(self.bounds, after)
        for block, (a, b) in enumerate(zip(lo.tolist(), hi.tolist(), strict=True)):
            self.parent[block] = self.segment[a]
            self.segment[a:b] = block

    def lookup(self, addresses: np.ndarray, valid: np.ndarray) -> list[tuple[int, int, str, str]]:
        """(row, owner, listed value, why) for every listed address or block a row falls in."""
        found: list[tuple[int, int, str, str]] = []
        if len(self.exact):
            pos = np.minimum(np.searchsorted(self.exact, addresses), len(self.exact) - 1)
            for row in np.flatnonzero(valid & (self.exact[pos] == addresses)).tolist():
                listed = str(ipaddress.IPv4Address(int(addresses[row])))
                p = int(pos[row])
                for owner in self.exact_owners[self.exact_offsets[p] : self.exact_offsets[p + 1]]:
                    found.append((row, int(owner), listed, "address is listed"))
        if self.blocks:
            seg = np.searchsorted(self.bounds, addresses.astype(np.uint64), side="right") - 1
            block = self.segment[seg]
            for row in np.flatnonzero(valid & (block >= 0)).tolist():
                b = int(block[row])
                while b >= 0:
                    length, address = self.blocks[b]
                    net = f"{ipaddress.IPv4Address(address)}/{length}"
                    for owner in self.block_owners[b]:
                        found.append((row, owner, net, f"address is inside listed {net}"))
                    b = int(self.parent[b])
        return found
