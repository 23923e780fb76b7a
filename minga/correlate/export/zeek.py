"""A Zeek Intel framework file (`Intel::read_files`): tab-separated, `#fields` header, `-` for
an empty field; URLs without their scheme, as Zeek's HTTP analyser reports them."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from minga.correlate.export.rows import HASHES, ExportMeta, ExportRow, Kind

MEDIA_TYPE = "text/plain; charset=utf-8"
SUFFIX = "intel"
KINDS = frozenset(Kind)
FIELDS = ("indicator", "indicator_type", "meta.source", "meta.desc", "meta.url")
TYPES = {
    Kind.IPV4: "Intel::ADDR",
    Kind.IPV6: "Intel::ADDR",
    Kind.CIDR: "Intel::SUBNET",
    Kind.DOMAIN: "Intel::DOMAIN",
    Kind.URL: "Intel::URL",
    Kind.EMAIL: "Intel::EMAIL",
    **dict.fromkeys(HASHES, "Intel::FILE_HASH"),
}


def field(text: str) -> str:
    """A value Zeek's input reader takes: no tabs or line breaks, `-` when empty."""
    cleaned = "".join(" " if ch in "\t\r\n" else ch for ch in text).strip()
    return cleaned or "-"


def indicator(row: ExportRow) -> str:
    if row.kind is Kind.URL:
        return row.value.split("://", 1)[-1]
    return row.value


def write(rows: Iterable[ExportRow], meta: ExportMeta) -> Iterator[str]:
    yield "#fields\t" + "\t".join(FIELDS) + "\n"
    for row in rows:
        desc = f"{row.name or row.stix_id} (TLP:{row.tlp}, {row.org})"
        line = (indicator(row), TYPES[row.kind], f"minga:{meta.node}", desc, row.stix_id)
        yield "\t".join(field(part) for part in line) + "\n"
