"""An nftables script that fills two interval sets, `feed_ipv4` and `feed_ipv6`, in table
`inet minga` atomically (`nft -f`): match them from your own rules, e.g.
`ip saddr @feed_ipv4 drop` in a chain of that table."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator

from minga.correlate.export.rows import ExportMeta, ExportRow, Kind

MEDIA_TYPE = "text/plain; charset=utf-8"
SUFFIX = "nft"
KINDS = frozenset({Kind.IPV4, Kind.IPV6, Kind.CIDR})
TABLE = "inet minga"
SETS = {4: "feed_ipv4", 6: "feed_ipv6"}
BATCH = 500


def _add(version: int, values: list[str]) -> str:
    return f"add element {TABLE} {SETS[version]} {{ " + ", ".join(values) + " }\n"


def write(rows: Iterable[ExportRow], meta: ExportMeta) -> Iterator[str]:
    yield f"# Minga feed from {meta.node}, as of {meta.as_of}\n"
    yield f"table {TABLE} {{\n"
    yield f"\tset {SETS[4]} {{ type ipv4_addr; flags interval; auto-merge; }}\n"
    yield f"\tset {SETS[6]} {{ type ipv6_addr; flags interval; auto-merge; }}\n"
    yield "}\n"
    yield f"flush set {TABLE} {SETS[4]}\nflush set {TABLE} {SETS[6]}\n"
    pending: dict[int, list[str]] = {4: [], 6: []}
    for row in rows:
        try:
            net = ipaddress.ip_network(row.value, strict=False)
        except ValueError:
            continue
        single = net.num_addresses == 1
        pending[net.version].append(str(net.network_address) if single else str(net))
        if len(pending[net.version]) >= BATCH:
            yield _add(net.version, pending[net.version])
            pending[net.version] = []
    for version, values in pending.items():
        if values:
            yield _add(version, values)
