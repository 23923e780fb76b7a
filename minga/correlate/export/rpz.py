"""A DNS Response Policy Zone (RFC draft-vixie-dnsop-dns-rpz): domains (and their
sub-domains) and response addresses answered with NXDOMAIN. Load it as a zone named
`rpz.minga.` (or any name: the records are relative) in BIND, Unbound or PowerDNS."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator

from minga.correlate.export.rows import ExportMeta, ExportRow, Kind

MEDIA_TYPE = "text/dns; charset=utf-8"
SUFFIX = "rpz"
KINDS = frozenset({Kind.DOMAIN, Kind.IPV4, Kind.IPV6, Kind.CIDR})
TTL = 300


def owner_names(row: ExportRow) -> list[str]:
    """The zone's owner names that trigger on `row`: a name and its wildcard, or an rpz-ip."""
    if row.kind is Kind.DOMAIN:
        name = row.value.lower().strip(".")
        labels = name.split(".")
        # Relative names must fit the 255-byte limit with the zone's own name after them.
        if not name or any(not 0 < len(label) <= 63 for label in labels) or len(name) > 200:
            return []
        if any(ch.isspace() or ch in '();"\\@$' for ch in name):
            return []
        return [name, f"*.{name}"]
    try:
        net = ipaddress.ip_network(row.value, strict=False)
    except ValueError:
        return []
    if net.version == 4:
        octets = str(net.network_address).split(".")
        return [f"{net.prefixlen}." + ".".join(reversed(octets)) + ".rpz-ip"]
    # IPv6: the groups reversed, the longest zero run written `zz`.
    words = [format(int(g, 16), "x") for g in net.network_address.exploded.split(":")]
    compressed = str(net.network_address)
    if "::" in compressed:
        head, tail = compressed.split("::")
        left = head.split(":") if head else []
        right = tail.split(":") if tail else []
        words = [*left, "zz", *right]
    return [f"{net.prefixlen}." + ".".join(reversed(words)) + ".rpz-ip"]


def write(rows: Iterable[ExportRow], meta: ExportMeta) -> Iterator[str]:
    yield f"; Minga feed from {meta.node}, as of {meta.as_of}\n"
    yield f"$TTL {TTL}\n"
    yield f"@ SOA localhost. hostmaster.localhost. {meta.serial} 3600 600 86400 {TTL}\n"
    yield "@ NS localhost.\n"
    last: list[str] = []
    for row in rows:
        names = owner_names(row)
        if names == last:
            continue
        last = names
        for name in names:
            yield f"{name} CNAME .\n"
