"""Plain value lists: one value a line, what firewalls' external block lists read."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from minga.correlate.export.rows import ExportMeta, ExportRow, Kind

MEDIA_TYPE = "text/plain; charset=utf-8"
SUFFIX = "txt"
KINDS = frozenset(Kind)


def write(rows: Iterable[ExportRow], meta: ExportMeta) -> Iterator[str]:
    last = None
    for row in rows:
        if row.value != last:  # an indicator may hold one value twice
            yield row.value + "\n"
        last = row.value
