"""What the reference knowledge says about values an analyst reads: a technique id's name and
tactics, a CVE's known exploitation. Used by the draft review, object pages and publishing."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from minga.knowledge import lookup

TECHNIQUE_RE = re.compile(r"T\d{4}(?:\.\d{3})?\Z")
CVE_RE = re.compile(r"CVE-\d{4}-\d{4,}\Z", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Note:
    """One annotation: kind is "technique" or "kev"."""

    kind: str
    key: str  # T1566.002 or CVE-2024-53704
    name: str
    stix_id: str | None
    tactics: tuple[str, ...] = ()
    date_added: str = ""  # KEV: known exploited since
    vendor: str = ""
    product: str = ""
    url: str | None = None


def notes_for(session: Session, values: Iterable[str]) -> dict[str, Note]:
    """Annotations of the technique ids and CVEs among `values`, by value as given."""
    wanted = [v.strip() for v in values if isinstance(v, str)]
    techniques = lookup.techniques(session, [v for v in wanted if TECHNIQUE_RE.match(v)])
    kevs = lookup.known_exploited(session, [v for v in wanted if CVE_RE.match(v)])
    out: dict[str, Note] = {}
    for value in wanted:
        t = techniques.get(value)
        if t is not None:
            out[value] = Note("technique", t.id, t.name, t.stix_id, t.tactics, url=t.url)
        k = kevs.get(value.upper())
        if k is not None:
            out[value] = Note(
                "kev", k.cve, k.name, k.stix_id, date_added=k.date_added,
                vendor=k.vendor_project, product=k.product,
            )  # fmt: skip
    return out


def values_in(obj: dict[str, Any]) -> list[str]:
    """Technique ids and CVEs an object names: its external references and, for a
    vulnerability or attack pattern, its name."""
    found: list[str] = []
    for ref in obj.get("external_references") or ():
        if isinstance(ref, dict) and isinstance(ref.get("external_id"), str):
            found.append(ref["external_id"])
    if obj.get("type") in ("vulnerability", "attack-pattern") and isinstance(obj.get("name"), str):
        found.append(obj["name"])
    return [v for v in dict.fromkeys(found) if TECHNIQUE_RE.match(v) or CVE_RE.match(v)]


def notes_for_object(session: Session, obj: dict[str, Any], ref_ids: Iterable[str]) -> list[Note]:
    """Annotations of an object itself and of the reference objects it refers to."""
    notes = list(notes_for(session, values_in(obj)).values())
    by_id = lookup.by_stix_id(session, [r for r in ref_ids if r != obj.get("id")])
    keys = [e.key for e in by_id.values() if e.kind in ("technique", "kev")]
    notes.extend(n for n in notes_for(session, keys).values() if n not in notes)
    return notes
