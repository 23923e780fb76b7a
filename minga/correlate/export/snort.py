"""Snort 2.9 rules (the syntax Snort 3 also reads with its rule converter): IP addresses and
ranges, domains as DNS query names (sub-domains included) and http URLs."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from minga.correlate.export.rows import ADDRESSES, ExportMeta, ExportRow, Kind
from minga.correlate.export.rules import SID_BASE, content, message, split_url

MEDIA_TYPE = "text/plain; charset=utf-8"
SUFFIX = "rules"
KINDS = frozenset({Kind.IPV4, Kind.IPV6, Kind.CIDR, Kind.DOMAIN, Kind.URL})


def wire_name(domain: str) -> str:
    """A domain as it travels in a DNS query: each label after its length byte."""
    labels = [label for label in domain.lower().strip(".").split(".") if label]
    return "".join(f"|{len(label.encode()):02X}|{content(label)}" for label in labels) + "|00|"


def _rules(row: ExportRow) -> list[str]:
    msg = message("MINGA", row)
    if row.kind in ADDRESSES:
        return [f'alert ip any any <> [{row.value}] any (msg:"{msg}";']
    if row.kind is Kind.DOMAIN:
        return [
            f'alert udp any any -> any 53 (msg:"{msg}"; '
            f'content:"{wire_name(row.value)}"; nocase; fast_pattern;'
        ]
    if row.kind is Kind.URL:
        parts = split_url(row.value)
        if parts is None:
            return []
        host, path = parts
        return [
            f'alert tcp any any -> any $HTTP_PORTS (msg:"{msg}"; flow:to_server,established; '
            f'content:"Host|3A 20|{content(host)}|0D 0A|"; http_header; nocase; '
            f'content:"{content(path)}"; http_raw_uri;'
        ]
    return []


def write(rows: Iterable[ExportRow], meta: ExportMeta) -> Iterator[str]:
    yield f"# Minga feed from {meta.node}, as of {meta.as_of}\n"
    sid = SID_BASE
    for row in rows:
        for rule in _rules(row):
            sid += 1
            yield f"{rule} classtype:trojan-activity; sid:{sid}; rev:1;)\n"
