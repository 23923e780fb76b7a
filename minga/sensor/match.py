"""The sensor's in-memory indicator index and batched matching over whole columns.

IPv4 text is parsed a whole column at a time (`addresses.py`); listed addresses are one sorted
uint32 array and listed CIDRs (nested or disjoint) cut the address space into segments owned by
the innermost block: two numpy.searchsorted calls per column. IPv6: per distinct value.
Domains: exact set membership of the name, then of each parent (labels stripped from the left,
whole columns at a time), so a subdomain matches its listed parent. URLs (normalised, without
scheme as Zeek Intel does), file hashes, JA3/JA3S and certificate hashes: set membership (Arrow
hash kernels)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from minga.sensor.addresses import Ipv4Index, ipv4_column, parse_network
from minga.sensor.indicators import Loaded
from minga.sensor.readers.base import Batch

# Which columns of which logs hold which observable kind (Zeek, eve.json, nfdump, syslog).
FIELD_KINDS: dict[str, str] = {
    **dict.fromkeys(
        ["id.orig_h", "id.resp_h", "src", "dst", "src_ip", "dest_ip", "sa", "da", "srcaddr",
         "dstaddr", "src4_addr", "dst4_addr", "tx_hosts", "rx_hosts"], "ip"),
    **dict.fromkeys(["query", "host", "server_name", "dns.rrname", "http.hostname", "tls.sni"],
                    "domain"),
    "url": "url",
    # Zeek's files.log hashes certificates too (mime application/pkix-cert), as Zeek Intel uses
    **dict.fromkeys(["md5", "sha1", "sha256", "fileinfo.md5", "fileinfo.sha1", "fileinfo.sha256"],
                    "hash+cert"),
    "ja3": "ja3", "tls.ja3.hash": "ja3", "ja3s": "ja3s", "tls.ja3s.hash": "ja3s",
    **dict.fromkeys(["fingerprint", "cert_chain_fps", "tls.fingerprint"], "cert"),
}  # fmt: skip
WHAT = {"hash": "file hash", "ja3": "JA3", "ja3s": "JA3S", "cert": "certificate hash"}
DEFAULT_PORTS = {"http": ":80", "https": ":443"}


@dataclass(frozen=True)
class Match:
    path: str
    log: str
    row: int  # the record's row in its batch
    line: int
    field: str
    value: str
    indicator: str
    name: str
    listed: str
    why: str

    def as_json(self) -> dict[str, object]:
        return {
            "file": self.path, "log": self.log, "line": self.line, "field": self.field,
            "value": self.value, "indicator": self.indicator, "indicator_name": self.name,
            "listed": self.listed, "why": self.why,
        }  # fmt: skip


def normalise_url(text: str) -> str | None:
    """host[:port]/path?query, host lower-cased, default port and fragment dropped."""
    text = text.strip()
    if "://" not in text:
        text = "http://" + text
    try:
        parts = urlsplit(text)
        host = (parts.hostname or "").rstrip(".")
        port = parts.port
    except ValueError:
        return None
    if not host:
        return None
    scheme = parts.scheme.lower()
    netloc = host if port is None or DEFAULT_PORTS.get(scheme) == f":{port}" else f"{host}:{port}"
    query = f"?{parts.query}" if parts.query else ""
    return f"{netloc}{parts.path or '/'}{query}"


def _normalise(kind: str, value: str) -> str | None:
    value = value.strip()
    if kind == "domain":
        value = value.lower().rstrip(".").removeprefix("*.")
        return value or None
    if kind == "url":
        return normalise_url(value)
    if kind == "cert":
        return value.lower().replace(":", "")
    return value.lower()


class _Set:
    """Distinct listed values and, for each, the indicators that list it."""

    def __init__(self, values: list[str], owners: list[int]) -> None:
        order = sorted(range(len(values)), key=values.__getitem__)
        ordered = [values[i] for i in order]
        self.owners = np.array([owners[i] for i in order], dtype=np.int32)
        starts = [i for i in range(len(ordered)) if i == 0 or ordered[i] != ordered[i - 1]]
        self.values = pa.array([ordered[i] for i in starts], pa.string())
        self.offsets = np.array([*starts, len(ordered)], dtype=np.int64)

    def positions(self, column: pa.Array) -> np.ndarray:
        """For each row, the index of its value among the listed ones, or -1."""
        found = pc.index_in(column, value_set=self.values).fill_null(-1)
        return np.asarray(found.to_numpy(zero_copy_only=False), dtype=np.int64)

    def owners_at(self, position: int) -> np.ndarray:
        return self.owners[self.offsets[position] : self.offsets[position + 1]]


class IndicatorIndex:
    def __init__(self, loaded: Loaded) -> None:
        """Index `loaded`, consuming it: its lists are emptied as they are turned into arrays,
        so a million indicators are not held twice (Python lists and Arrow) at the peak."""
        self.names = pa.array(loaded.names, pa.string())
        loaded.names = []
        self.skipped = list(loaded.skipped)
        self.refused: list[tuple[str, str]] = []
        kinds = pa.array(loaded.kinds, pa.string())
        loaded.kinds = []
        is_ip = np.asarray(pc.equal(kinds, "ip").to_numpy(zero_copy_only=False), dtype=bool)
        owners = np.array(loaded.owners, dtype=np.int32)
        loaded.owners = []
        values, loaded.values = loaded.values, []
        per_kind: dict[str, tuple[list[str], list[int]]] = {}
        for i in np.flatnonzero(~is_ip).tolist():
            kind, raw, owner = str(kinds[i].as_py()), values[i], int(owners[i])
            value = _normalise(kind, raw)
            if value is None:
                self.refused.append((loaded.ids[owner], f"{raw!r} is not a usable {kind}"))
                continue
            listed, listed_by = per_kind.setdefault(kind, ([], []))
            listed.append(value)
            listed_by.append(owner)
        ip_values = pa.array(values, pa.string()).filter(pa.array(is_ip))
        del values
        self.ids = pa.array(loaded.ids, pa.string())
        loaded.ids = []
        self._index_addresses(ip_values, owners[is_ip])
        self.sets = {kind: _Set(*pair) for kind, pair in per_kind.items()}

    def _index_addresses(self, values: pa.Array, owner_array: np.ndarray) -> None:
        # plain dotted IPv4 (most of a feed) parsed as one column; CIDRs and IPv6 one by one
        addresses, plain = ipv4_column(values)
        v4_addresses, v4_lengths = [addresses[plain]], [np.full(int(plain.sum()), 32, np.uint8)]
        v4_owners = [owner_array[plain]]
        self.v6: dict[tuple[int, int], list[int]] = {}
        for i in np.flatnonzero(~plain).tolist():
            text, owner = str(values[i].as_py()), int(owner_array[i])
            net = parse_network(text)
            if net is None:
                self.refused.append(
                    (str(self.ids[owner].as_py()), f"{text!r} is not an IP address")
                )
            elif net.version == 4:
                v4_addresses.append(np.array([int(net.network_address)], np.uint32))
                v4_lengths.append(np.array([net.prefixlen], np.uint8))
                v4_owners.append(np.array([owner], np.int32))
            else:
                self.v6.setdefault((net.prefixlen, int(net.network_address)), []).append(owner)
        self.v4 = Ipv4Index(
            np.concatenate(v4_addresses), np.concatenate(v4_lengths), np.concatenate(v4_owners)
        )
        self.v6_lengths = sorted({length for length, _ in self.v6}, reverse=True)

    def __len__(self) -> int:
        return len(self.ids)

    # -- matching ---------------------------------------------------------------------------

    def match(self, batch: Batch) -> Iterator[Match]:
        for field in batch.table.column_names:
            kinds = FIELD_KINDS.get(field)
            if kinds is None:
                continue
            column = batch.table.column(field).cast(pa.string()).combine_chunks()
            for row, owner, listed, why in self._hits(kinds, column):
                yield Match(
                    batch.path, batch.log, row, int(batch.lines[row]), field,
                    str(column[row].as_py()), str(self.ids[owner].as_py()),
                    str(self.names[owner].as_py()), listed, why,
                )  # fmt: skip

    def _hits(self, kinds: str, column: pa.Array) -> Iterator[tuple[int, int, str, str]]:
        for kind in kinds.split("+"):
            if kind == "ip":
                yield from self._match_ip(column)
            elif kind == "domain":
                yield from self._match_domain(column)
            else:
                yield from self._match_set(kind, column)

    def count(self, batch: Batch) -> int:
        """How many (record, field, indicator) matches a batch holds, without building them."""
        return sum(1 for _ in self.match(batch))

    def _match_ip(self, column: pa.Array) -> Iterator[tuple[int, int, str, str]]:
        addresses, valid = ipv4_column(column)
        yield from self.v4.lookup(addresses, valid)
        if self.v6:
            yield from self._match_v6(column)

    def _match_v6(self, column: pa.Array) -> Iterator[tuple[int, int, str, str]]:
        v6 = pc.match_substring(column, ":").fill_null(False)
        rows = np.flatnonzero(np.asarray(v6.to_numpy(zero_copy_only=False), dtype=bool))
        seen: dict[str, list[tuple[int, str, str]]] = {}
        for row in rows:
            text = column[int(row)].as_py()
            if text not in seen:
                seen[text] = self._lookup_v6(text)
            for owner, listed, why in seen[text]:
                yield int(row), owner, listed, why

    def _lookup_v6(self, text: str) -> list[tuple[int, str, str]]:
        try:
            address = int(ipaddress.IPv6Address(text.split("%")[0]))
        except ValueError:
            return []
        found = []
        for length in self.v6_lengths:
            key = (address >> (128 - length)) << (128 - length)
            for owner in self.v6.get((length, key), []):
                net = ipaddress.IPv6Network((key, length))
                why = "address is listed" if length == 128 else f"address is inside listed {net}"
                found.append((owner, str(net.network_address if length == 128 else net), why))
        return found

    def _match_domain(self, column: pa.Array) -> Iterator[tuple[int, int, str, str]]:
        listed = self.sets.get("domain")
        if listed is None:
            return
        names = pc.utf8_rtrim(pc.utf8_lower(column), characters=".")
        rows = np.arange(len(names))
        depth = 0
        while len(names):
            positions = listed.positions(names)
            for i in np.flatnonzero(positions >= 0):
                parent = str(listed.values[int(positions[i])].as_py())
                why = "name is listed" if depth == 0 else f"subdomain of listed {parent}"
                for owner in listed.owners_at(int(positions[i])):
                    yield int(rows[i]), int(owner), parent, why
            # strip the leftmost label from the names that still have a parent
            more = np.asarray(
                pc.match_substring(names, ".").fill_null(False).to_numpy(zero_copy_only=False),
                dtype=bool,
            )
            if not more.any():
                return
            names = pc.replace_substring_regex(
                names.filter(pa.array(more)), r"^[^.]*\.", "", max_replacements=1
            )
            rows = rows[more]
            depth += 1

    def _match_set(self, kind: str, column: pa.Array) -> Iterator[tuple[int, int, str, str]]:
        listed = self.sets.get(kind)
        if listed is None:
            return
        if kind == "url":
            distinct = pc.unique(column.drop_null())
            normal = pa.array([normalise_url(v) for v in distinct.to_pylist()], pa.string())
            where = listed.positions(normal)
            row_to_distinct = pc.index_in(column, value_set=distinct).fill_null(-1).to_numpy()
            positions = np.where(row_to_distinct >= 0, where[np.maximum(row_to_distinct, 0)], -1)
        else:
            values = pc.utf8_lower(column)
            if kind == "cert":  # Zeek lists the chain; the leaf comes first. eve uses colons.
                values = pc.replace_substring(
                    pc.replace_substring_regex(values, ",.*$", ""), ":", ""
                )
            positions = listed.positions(values)
        what = WHAT.get(kind, "URL (normalised)")
        for row in np.flatnonzero(positions >= 0):
            value = str(listed.values[int(positions[row])].as_py())
            for owner in listed.owners_at(int(positions[row])):
                yield int(row), int(owner), value, f"{what} is listed"
