"""Suricata rules: IP addresses and ranges (either direction), domains (DNS queries and TLS SNI,
sub-domains included) and http URLs (host and path prefix). Hashes and e-mail addresses are
not network matches: take them in the Zeek or plain feeds."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from minga.correlate.export.rows import ADDRESSES, ExportMeta, ExportRow, Kind
from minga.correlate.export.rules import SID_BASE, content, message, split_url

MEDIA_TYPE = "text/plain; charset=utf-8"
SUFFIX = "rules"
KINDS = frozenset({Kind.IPV4, Kind.IPV6, Kind.CIDR, Kind.DOMAIN, Kind.URL})


def _rules(row: ExportRow) -> list[str]:
    msg = message("MINGA", row)
    meta = f"metadata: tlp {row.tlp.replace('+', '_')}, stix_id {row.stix_id};"
    if row.kind in ADDRESSES:
        return [f'alert ip any any <> [{row.value}] any (msg:"{msg}"; {meta}']
    if row.kind is Kind.DOMAIN:
        dotted = content("." + row.value.lower())
        return [
            f'alert dns any any -> any any (msg:"{msg}"; dns.query; dotprefix; '
            f'content:"{dotted}"; endswith; nocase; {meta}',
            f'alert tls any any -> any any (msg:"{msg}"; tls.sni; dotprefix; '
            f'content:"{dotted}"; endswith; nocase; {meta}',
        ]
    if row.kind is Kind.URL:
        parts = split_url(row.value)
        if parts is None:
            return []
        host, path = parts
        return [
            f'alert http any any -> any any (msg:"{msg}"; flow:established,to_server; '
            f'http.host; content:"{content(host)}"; bsize:{len(host.encode())}; '
            f'http.uri.raw; content:"{content(path)}"; startswith; {meta}'
        ]
    return []


def write(rows: Iterable[ExportRow], meta: ExportMeta) -> Iterator[str]:
    yield f"# Minga feed from {meta.node}, as of {meta.as_of}\n"
    sid = SID_BASE
    for row in rows:
        for rule in _rules(row):
            sid += 1
            yield f"{rule} sid:{sid}; rev:1;)\n"
