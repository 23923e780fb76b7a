"""Which constituents answer for a value: a matcher compiled from every declared asset.

- IP ranges (v4 and v6, nested or overlapping): the ranges are cut into disjoint elementary
  intervals, each with the set of organisations that cover it; an address is found with one
  binary search over the sorted interval starts (numpy `searchsorted` over a batch of IPv4
  addresses; Python's `bisect` for IPv6, whose 128-bit numbers numpy cannot hold).
- Domains: a dict keyed by reversed labels (`com.example.`); a value is looked up at each of
  its label boundaries, so `a.b.example.com`, `example.com` and URLs and e-mail addresses on
  them match a declared `example.com`. A URL or mailbox on an IP address matches as that IP.
- ASNs: a dict. The ASN of a value comes from the object itself (an `autonomous-system`
  object, or an indicator pattern naming `autonomous-system:number`): Minga has no routing
  table, so an address alone is never mapped to an ASN.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from minga.correlate import normalise
from minga.correlate.normalise import URL_HOST, Value

NONE: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Asset:
    org_id: int
    kind: str  # asn | ip | domain
    value: str  # AS number, network in CIDR form, domain


def parse_asset(text: str, kind: str | None = None) -> tuple[str, str]:
    """(kind, canonical value) of a declared asset; `ValueError` with a sentence if unusable."""
    text = text.strip()
    guessed = kind or _guess_kind(text)
    if guessed == "asn":
        number = text.upper().removeprefix("AS")
        if not number.isdigit() or not 0 < int(number) < 2**32:
            raise ValueError(f"{text!r} is not an AS number (AS64500 or 64500)")
        return "asn", str(int(number))
    if guessed == "ip":
        found = normalise.ip(text)
        if found is None:
            raise ValueError(f"{text!r} is not an IP address or network (CIDR)")
        if found.kind in ("ipv4", "ipv6"):
            return "ip", f"{found.value}/{32 if found.kind == 'ipv4' else 128}"
        return "ip", found.value
    if guessed == "domain":
        name = normalise.domain_name(text.removeprefix("*."))
        if name is None:
            raise ValueError(f"{text!r} is not a domain name")
        return "domain", name
    raise ValueError(f"unknown asset kind {guessed!r} (asn, ip or domain)")


def _guess_kind(text: str) -> str:
    if (text.upper().startswith("AS") and text[2:].isdigit()) or text.isdigit():
        return "asn"
    if normalise.ip(text) is not None:
        return "ip"
    return "domain"


class _Intervals:
    """Disjoint elementary intervals over nested or overlapping ranges."""

    def __init__(self, ranges: Iterable[tuple[int, int, int]]) -> None:
        points: dict[int, list[tuple[int, int]]] = defaultdict(list)
        for lo, hi, org in ranges:
            points[lo].append((+1, org))
            points[hi + 1].append((-1, org))
        active: dict[int, int] = defaultdict(int)
        sets: dict[frozenset[int], frozenset[int]] = {}  # interned: few distinct sets
        self.starts: list[int] = []
        self.owners: list[frozenset[int]] = []
        for point in sorted(points):
            for step, org in points[point]:
                active[org] += step
                if not active[org]:
                    del active[org]
            now = frozenset(active)
            now = sets.setdefault(now, now)
            if self.owners and self.owners[-1] is now:
                continue
            self.starts.append(point)
            self.owners.append(now)

    def find(self, number: int) -> frozenset[int]:
        at = bisect.bisect_right(self.starts, number) - 1
        return self.owners[at] if at >= 0 else NONE


class Matcher:
    def __init__(self, assets: Iterable[Asset]) -> None:
        v4: list[tuple[int, int, int]] = []
        v6: list[tuple[int, int, int]] = []
        self.domains: dict[str, set[int]] = defaultdict(set)
        self.asns: dict[str, set[int]] = defaultdict(set)
        self.size = 0
        for asset in assets:
            self.size += 1
            if asset.kind == "asn":
                self.asns[asset.value].add(asset.org_id)
            elif asset.kind == "domain":
                self.domains[normalise.reversed_domain(asset.value)].add(asset.org_id)
            elif asset.kind == "ip":
                net = normalise.ip(asset.value)
                if net is None or net.lo is None or net.hi is None:
                    continue
                bucket = v4 if len(net.lo) == 8 else v6
                bucket.append((int(net.lo, 16), int(net.hi, 16), asset.org_id))
        self.v4 = _Intervals(v4)
        self.v6 = _Intervals(v6)
        self._v4_starts = np.array(self.v4.starts, dtype=np.uint64)

    def _domain(self, key: str) -> frozenset[int]:
        """Organisations of a reversed-domain key (`com.example.www.`) or of a parent of it."""
        found: set[int] = set()
        at = key.find(".")
        while at != -1:
            hit = self.domains.get(key[: at + 1])
            if hit:
                found |= hit
            at = key.find(".", at + 1)
        return frozenset(found)

    def _address(self, hex_key: str) -> frozenset[int]:
        if len(hex_key) == 8:
            return self.v4.find(int(hex_key, 16))
        return self.v6.find(int(hex_key, 16))

    def match(self, value: Value) -> frozenset[int]:
        """The organisations that answer for `value` (normalised, as the observable index
        stores it)."""
        kind = value.kind
        if kind in ("ipv4", "ipv6") and value.lo:
            return self._address(value.lo)
        if kind in ("ipv4-net", "ipv6-net") and value.lo and value.hi:
            # A network reported as a whole: whoever covers its first and last address.
            return self._address(value.lo) & self._address(value.hi)
        if kind == "asn":
            return frozenset(self.asns.get(value.value, ()))
        if kind in ("domain", "url", "email") and value.lo:
            if value.lo.startswith(URL_HOST):
                return self._address(value.lo[1:])
            return self._domain(value.lo)
        return NONE

    def match_ipv4(self, numbers: np.ndarray) -> list[frozenset[int]]:
        """A batch of IPv4 addresses (as unsigned integers) at once."""
        if not len(self._v4_starts):
            return [NONE] * len(numbers)
        at = np.searchsorted(self._v4_starts, numbers.astype(np.uint64), side="right") - 1
        owners = self.v4.owners
        return [owners[i] if i >= 0 else NONE for i in at.tolist()]

    def match_many(self, values: Sequence[Value]) -> list[frozenset[int]]:
        """`match` over a batch: IPv4 addresses in one vectorised search, the rest one by one."""
        out: list[frozenset[int]] = [NONE] * len(values)
        v4 = [n for n, v in enumerate(values) if v.kind == "ipv4" and v.lo]
        if v4:
            numbers = np.array([int(values[n].lo or "0", 16) for n in v4], dtype=np.uint64)
            for n, found in zip(v4, self.match_ipv4(numbers), strict=True):
                out[n] = found
        for n, value in enumerate(values):
            if not (value.kind == "ipv4" and value.lo):
                out[n] = self.match(value)
        return out


class NaiveScan:
    """The same answers by visiting every asset for every value: the benchmark's peer and the
    tests' oracle (networks and domain keys are parsed once, as the matcher's are)."""

    def __init__(self, assets: Iterable[Asset]) -> None:
        self.entries: list[tuple[str, str, str, int]] = []  # kind, lo, hi, org
        for asset in assets:
            if asset.kind == "ip":
                net = normalise.ip(asset.value)
                if net is not None and net.lo and net.hi:
                    self.entries.append(("ip", net.lo, net.hi, asset.org_id))
            elif asset.kind == "domain":
                self.entries.append(
                    ("domain", normalise.reversed_domain(asset.value), "", asset.org_id)
                )
            else:
                self.entries.append((asset.kind, asset.value, "", asset.org_id))

    def match(self, value: Value) -> frozenset[int]:
        key = value.lo or ""
        on_address = key.startswith(URL_HOST)
        if on_address:
            key = key[1:]
        last = value.hi if value.kind in ("ipv4-net", "ipv6-net") and value.hi else key
        is_name = value.kind in ("domain", "url", "email") and not on_address
        found: set[int] = set()
        for kind, lo, hi, org in self.entries:
            if kind == "asn":
                if value.kind == "asn" and value.value == lo:
                    found.add(org)
            elif kind == "domain":
                if is_name and key.startswith(lo):
                    found.add(org)
            elif key and not is_name and len(lo) == len(key) and lo <= key and last <= hi:
                found.add(org)
        return frozenset(found)


def naive_match(assets: Sequence[Asset], value: Value) -> frozenset[int]:
    return NaiveScan(assets).match(value)
