"""CSV: one row per value with its indicator, TLP, score, validity and reporter (SIEM look-ups)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

from minga.correlate.export.rows import ExportMeta, ExportRow, Kind

MEDIA_TYPE = "text/csv; charset=utf-8"
SUFFIX = "csv"
KINDS = frozenset(Kind)
HEADER = (
    "type",
    "value",
    "indicator_id",
    "name",
    "tlp",
    "score",
    "valid_until",
    "organisation",
    "country",
    "sector",
    "modified",
)
BATCH = 500
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def text_cell(text: str) -> str:
    """Free text another organisation wrote (an indicator's name), made inert for spreadsheets:
    a leading formula character gets a quote (OWASP's advice on CSV injection)."""
    return "'" + text if text.startswith(FORMULA_START) else text


def write(rows: Iterable[ExportRow], meta: ExportMeta) -> Iterator[str]:
    buffer = io.StringIO()
    out = csv.writer(buffer, lineterminator="\r\n")
    out.writerow(HEADER)
    for n, r in enumerate(rows, 1):
        score = "" if r.score is None else str(r.score)
        out.writerow(
            (
                r.kind.value,
                r.value,
                r.stix_id,
                text_cell(r.name),
                r.tlp,
                score,
                r.valid_until or "",
                r.org,
                r.country,
                r.sector,
                r.modified,
            )
        )
        if n % BATCH == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
