"""Updating the reference knowledge and reading it: technique names and tactics, known
exploited vulnerabilities, the ATT&CK coverage of what a principal may see."""

from __future__ import annotations

from collections import Counter
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from minga.errors import InvalidInput
from minga.intel.service import ObjectQuery, query_statement
from minga.knowledge import attack, documents, kev, misp
from minga.knowledge.lookup import Technique, by_stix_id, technique_of
from minga.knowledge.lookup import known_exploited as known_exploited
from minga.knowledge.lookup import techniques as techniques
from minga.knowledge.models import Entry, Release
from minga.knowledge.store import Loaded
from minga.policy import Principal

SOURCES = ("attack", "kev", "misp-taxonomies", "all")
MITRE_IDENTITY = "identity--c78cb6e5-0c4b-4611-8297-d1b8b55e40b5"
SCANNED_TYPES = ("relationship", "report", "grouping", "incident", "note", "opinion")
MAX_SCANNED = 100_000  # objects read to compute a coverage


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
            try:
                urls = _locations(session, source)
            except InvalidInput:
                if what == "all":  # `all` loads what has a URL; the others need --from
                    continue
                raise
            loads = [(list(documents.read(url, max_bytes)), url) for url in urls]
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
                by_short[tactic["shortname"]].append(technique_of(e))
    return [
        {"id": e.key, "name": e.name, "shortname": d["shortname"],
         "techniques": sorted(by_short[d["shortname"]], key=lambda t: t.id)}
        for d, e in columns
    ]  # fmt: skip
