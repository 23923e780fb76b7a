"""Reading the look-up entries: technique names and tactics, known exploited CVEs.
(No loading code here, so every domain may import it.)"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from minga.knowledge.models import Entry


@dataclass(frozen=True, slots=True)
class Technique:
    id: str  # T1566.002
    name: str
    stix_id: str | None
    tactics: tuple[str, ...]  # tactic names
    domain: str
    url: str | None


@dataclass(frozen=True, slots=True)
class KnownExploited:
    cve: str
    stix_id: str | None
    date_added: str
    vendor_project: str
    product: str
    name: str
    ransomware: str


def _entries(session: Session, kind: str, keys: Iterable[str]) -> list[Entry]:
    wanted = sorted(set(keys))
    out: list[Entry] = []
    for start in range(0, len(wanted), 500):
        stmt = select(Entry).where(Entry.kind == kind, Entry.key.in_(wanted[start : start + 500]))
        out.extend(session.scalars(stmt))
    return out


def technique_of(entry: Entry) -> Technique:
    data = orjson.loads(entry.data)
    return Technique(
        entry.key, entry.name, entry.stix_id,
        tuple(str(t.get("name")) for t in data.get("tactics", ())),
        str(data.get("domain", "")), data.get("url"),
    )  # fmt: skip


def techniques(session: Session, ids: Iterable[str]) -> dict[str, Technique]:
    """Name, tactics and STIX id of each known ATT&CK technique id (T1566.002) asked for."""
    return {e.key: technique_of(e) for e in _entries(session, "technique", ids)}


def known_exploited(session: Session, cves: Iterable[str]) -> dict[str, KnownExploited]:
    """The KEV facts of each CVE asked for that is in the catalogue."""
    out: dict[str, KnownExploited] = {}
    for e in _entries(session, "kev", (c.upper() for c in cves)):
        fact = orjson.loads(e.data).get("kev", {})
        out[e.key] = KnownExploited(
            e.key, e.stix_id, str(fact.get("date_added", "")),
            str(fact.get("vendor_project", "")).strip(), str(fact.get("product", "")).strip(),
            e.name, str(fact.get("known_ransomware_campaign_use", "")),
        )  # fmt: skip
    return out


def by_stix_id(session: Session, stix_ids: Iterable[str]) -> dict[str, Entry]:
    """Entries (technique, tactic, kev) for stored objects, by STIX id."""
    wanted = sorted(set(stix_ids))
    out: dict[str, Entry] = {}
    for start in range(0, len(wanted), 500):
        stmt = select(Entry).where(Entry.stix_id.in_(wanted[start : start + 500]))
        out.update({e.stix_id: e for e in session.scalars(stmt) if e.stix_id})
    return out
