"""Feeds for defence tools: one writer module per format, all reading `ExportRow`s.

A writer is `write(rows, meta) -> Iterator[str]`: it yields text as rows arrive and keeps
nothing but a small batch, so an export of any size runs in constant memory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from types import ModuleType

from minga.correlate.export import csvfile, misp, nft, plain, rpz, snort, stix, suricata, zeek
from minga.correlate.export.rows import ExportMeta, ExportRow, Kind
from minga.errors import InvalidInput


@dataclass(frozen=True, slots=True)
class Format:
    name: str
    media_type: str
    suffix: str
    kinds: frozenset[Kind]  # the kinds of value it can carry; others are left out
    write: Callable[[Iterable[ExportRow], ExportMeta], Iterator[str]]
    title: str


def _format(name: str, module: ModuleType, title: str) -> Format:
    return Format(name, module.MEDIA_TYPE, module.SUFFIX, module.KINDS, module.write, title)


FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        _format("txt", plain, "Plain list of values"),
        _format("csv", csvfile, "CSV"),
        _format("stix", stix, "STIX 2.1 bundle"),
        _format("misp", misp, "MISP event (JSON)"),
        _format("suricata", suricata, "Suricata rules"),
        _format("snort", snort, "Snort rules"),
        _format("zeek", zeek, "Zeek Intel file"),
        _format("rpz", rpz, "DNS RPZ zone"),
        _format("nft", nft, "nftables sets"),
    )
}


def get_format(name: str) -> Format:
    found = FORMATS.get(name.lower())
    if found is None:
        raise InvalidInput(f"unknown export format {name!r}: use one of {', '.join(FORMATS)}")
    return found


def render(fmt: Format, rows: Iterable[ExportRow], meta: ExportMeta) -> Iterator[str]:
    """`fmt`'s text for the rows it can carry."""
    return fmt.write((r for r in rows if r.kind in fmt.kinds), meta)


__all__ = ["FORMATS", "ExportMeta", "ExportRow", "Format", "Kind", "get_format", "render"]
