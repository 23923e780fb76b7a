"""Updating the reference knowledge and reading it: technique names and tactics, known
exploited vulnerabilities, the ATT&CK coverage of what a principal may see."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from minga.errors import InvalidInput
from minga.intel.service import ObjectQuery, query_statement
from minga.knowledge import attack, documents, kev, misp
from minga.knowledge.models import Entry, Release
from minga.knowledge.store import Loaded
from minga.policy import Principal

SOURCES = ("attack", "kev", "misp-taxonomies", "all")
MITRE_IDENTITY = "identity--c78cb6e5-0c4b-4611-8297-d1b8b55e40b5"
SCANNED_TYPES = ("relationship", "report", "grouping", "incident", "note", "opinion")
MAX_SCANNED = 100_000  # objects read to compute a coverage


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


def _locations(session: Session, source: str) -> list[str]:
    """Where a source was loaded from last (if a URL), else its official URLs."""
    prefix = "attack-" if source == "attack" else source
    rows = session.scalars(select(Release).where(Release.source.startswith(prefix)))
    recorded = sorted({r.location for r in rows if r.location.startswith(("http://", "https://"))})
    if recorded:
        return recorded
    official = {"attack": attack.DEFAULT_URLS, "kev": kev.DEFAULT_URLS}.get(source)
    if not official:
        raise InvalidInput(f"give --from FILE|DIR|URL for {source}: there is no official URL")
    return list(official)


def update(
    session: Session, what: str, location: str | None = None, max_bytes: int | None = None
) -> list[Loaded]:
    """Load one source (or all) from `location`, else from where it was loaded last, else from
    the official URL. With `all` and a location, each source loads what of it is there."""
    if what not in SOURCES:
        raise InvalidInput(f"unknown knowledge {what!r}: use {', '.join(SOURCES)}")
    wanted = ["attack", "kev", "misp-taxonomies"] if what == "all" else [what]
    found = list(documents.read(location, max_bytes)) if location else None
    done: list[Loaded] = []
    for source in wanted:
        kinds = {"attack": ("attack",), "kev": ("kev",), "misp-taxonomies": ("taxonomy", "galaxy")}
        if found is not None:
            if what == "all" and not any(d.kind in kinds[source] for d in found):
                continue
            loads = [(found, str(location))]
        else:
            loads = [
                (list(documents.read(url, max_bytes)), url) for url in _locations(session, source)
            ]
        for docs, where in loads:
            if source == "attack":
                done.append(attack.load_attack(session, docs, where))
            elif source == "kev":
                done.append(kev.load_kev(session, docs, where))
            else:
                done.extend(misp.load_misp(session, docs, where))
    if not done:
        raise InvalidInput(f"nothing in {location} is ATT&CK, KEV or a MISP taxonomy or galaxy")
    return done


def releases(session: Session) -> list[Release]:
    return list(session.scalars(select(Release).order_by(Release.source)))


def _entries(session: Session, kind: str, keys: Iterable[str]) -> list[Entry]:
    wanted = sorted(set(keys))
    out: list[Entry] = []
    for start in range(0, len(wanted), 500):
        stmt = select(Entry).where(Entry.kind == kind, Entry.key.in_(wanted[start : start + 500]))
        out.extend(session.scalars(stmt))
    return out


def _technique(entry: Entry) -> Technique:
    data = orjson.loads(entry.data)
    return Technique(
        entry.key, entry.name, entry.stix_id,
        tuple(str(t.get("name")) for t in data.get("tactics", ())),
        str(data.get("domain", "")), data.get("url"),
    )  # fmt: skip


def techniques(session: Session, ids: Iterable[str]) -> dict[str, Technique]:
    """Name, tactics and STIX id of each known ATT&CK technique id (T1566.002) asked for."""
    return {e.key: _technique(e) for e in _entries(session, "technique", ids)}


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


def _refs(obj: dict[str, Any], scope: str | None) -> list[str]:
    if obj.get("created_by_ref") == MITRE_IDENTITY:
        return []  # ATT&CK's own relationships describe ATT&CK, not this node's intelligence
    if obj.get("type") == "relationship":
        if scope and scope not in (obj.get("source_ref"), obj.get("target_ref")):
            return []
        return [str(obj.get("target_ref")), str(obj.get("source_ref"))]
    if scope and obj.get("id") != scope:
        return []
    return [str(r) for r in obj.get("object_refs") or () if isinstance(r, str)]


def coverage(session: Session, principal: Principal, scope: str | None = None) -> Counter[str]:
    """How many of the objects `principal` may see refer to each ATT&CK technique id: all of
    them, or only those of one report, grouping, campaign or intrusion set (`scope`)."""
    q = ObjectQuery(types=SCANNED_TYPES)
    stmt = query_statement(principal, q).limit(MAX_SCANNED)
    counts: Counter[str] = Counter()
    patterns: list[list[str]] = []
    for row in session.execute(stmt):
        refs = [r for r in _refs(orjson.loads(row.raw), scope) if r.startswith("attack-pattern--")]
        if refs:
            patterns.append(refs)
    known = by_stix_id(session, {r for refs in patterns for r in refs})
    for refs in patterns:
        for ref in set(refs):
            entry = known.get(ref)
            if entry is not None and entry.kind == "technique":
                counts[entry.key] += 1
    return counts


def matrix(session: Session, domain: str = "enterprise-attack") -> list[dict[str, Any]]:
    """The tactics of a domain in matrix order, each with its (sub-)techniques."""
    tactics = [
        (orjson.loads(e.data), e)
        for e in session.scalars(select(Entry).where(Entry.kind == "tactic"))
    ]
    columns = sorted(
        ((d, e) for d, e in tactics if d.get("domain") == domain),
        key=lambda de: (de[0].get("order", 99), de[1].key),
    )
    by_short: dict[str, list[Technique]] = {d["shortname"]: [] for d, _ in columns}
    for e in session.scalars(select(Entry).where(Entry.kind == "technique")):
        data = orjson.loads(e.data)
        if data.get("domain") != domain or data.get("revoked") or data.get("deprecated"):
            continue
        for tactic in data.get("tactics", ()):
            if tactic.get("shortname") in by_short:
                by_short[tactic["shortname"]].append(_technique(e))
    return [
        {"id": e.key, "name": e.name, "shortname": d["shortname"],
         "techniques": sorted(by_short[d["shortname"]], key=lambda t: t.id)}
        for d, e in columns
    ]  # fmt: skip
