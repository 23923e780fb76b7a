"""Evidence the node already holds for a country's CMM factors, from a small registry of kinds.

Each kind names the factors it supports and a provider that lists, for a country, links to what
the asking principal may see (the intel store is read through the policy's SQL filter). Kinds
whose domain does not exist on this node (incidents, exercises: their tables absent) provide
nothing: `register` them from their own domain; `available` says whether their data is there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import func, inspect, select
from sqlalchemy.orm import Session

from minga.accounts.models import Organisation
from minga.intel.models import object_groups, objects
from minga.knowledge.models import Entry
from minga.policy import Principal, visible_filter
from minga.web.i18n import N_

WINDOW_DAYS = 365
# Sectors the CMM counts as critical infrastructure (factor D1.3) when an organisation says so.
CI_SECTORS = frozenset(
    {"energy", "finance", "health", "telecom", "telecommunications", "water", "transport"}
)
NOT_SHARED = ("identity", "marking-definition", "relationship")
KIND_LABEL = N_("Organisations of kind %(value)s in %(country)s (%(num)s): %(names)s")
SECTOR_LABEL = N_("Organisations of sector %(value)s in %(country)s (%(num)s): %(names)s")
SHARED_LABEL = N_("%(org)s: %(num)s objects shared in %(days)s days")
VULNERABILITIES_LABEL = N_("%(org)s: %(num)s vulnerabilities shared in %(days)s days")


LABELS = {"kind": KIND_LABEL, "sector": SECTOR_LABEL}


def _same(text: str) -> str:
    return text


@dataclass(frozen=True, slots=True)
class EvidenceLink:
    kind: str  # "sharing", "directory", "incidents", ...
    ref: str  # stable reference: "sharing:org:7", "directory:csirt", ...
    label: str  # what it shows, in the data's own words (organisation names, counts)
    url: str  # where the page shows it
    count: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


Translate = Callable[[str], str]
# (session, reader, country, translate) -> links; labels pass through `translate` (the page's
# language; English elsewhere).
Provider = Callable[[Session, Principal, str, Translate], list[EvidenceLink]]


@dataclass(frozen=True, slots=True)
class EvidenceKind:
    name: str
    factors: tuple[str, ...]  # CMM factor ids it supports
    provide: Provider
    table: str | None = None  # the table its domain needs; absent -> the kind is absent

    def available(self, session: Session) -> bool:
        return self.table is None or inspect(session.get_bind()).has_table(self.table)


REGISTRY: dict[str, EvidenceKind] = {}


def register(kind: EvidenceKind) -> None:
    REGISTRY[kind.name] = kind


def country_orgs(session: Session, country: str) -> list[Organisation]:
    """The country's own (not remote) organisations, by name: whose evidence an assessment shows."""
    return list(
        session.scalars(
            select(Organisation)
            .where(Organisation.country == country, Organisation.remote_node.is_(None))
            .order_by(Organisation.name)
        )
    )


def not_reference_knowledge() -> Any:
    """ATT&CK and KEV loaded by `minga knowledge` are the node's reference data, not sharing."""
    loaded = select(Entry.stix_id).where(Entry.stix_id.is_not(None))
    return objects.c.stix_id.not_in(loaded)


def _shared_counts(
    session: Session, principal: Principal, org_ids: list[int], types: tuple[str, ...] = ()
) -> dict[int, int]:
    since = int((datetime.now(UTC) - timedelta(days=WINDOW_DAYS)).timestamp() * 1_000_000)
    stmt = (
        select(objects.c.owner_org_id, func.count())
        .where(
            visible_filter(principal, objects, object_groups),
            objects.c.is_latest == True,  # noqa: E712
            objects.c.revoked == False,  # noqa: E712
            objects.c.owner_org_id.in_(org_ids),
            objects.c.added_us >= since,
        )
        .group_by(objects.c.owner_org_id)
    )
    stmt = stmt.where(objects.c.type.in_(types)) if types else stmt
    stmt = stmt.where(objects.c.type.not_in(NOT_SHARED), not_reference_knowledge())
    return {int(org): int(n) for org, n in session.execute(stmt)}


def sharing(
    session: Session, principal: Principal, country: str, t: Translate = _same
) -> list[EvidenceLink]:
    """Objects the country's organisations published in the last year (that the principal sees)."""
    orgs = country_orgs(session, country)
    counts = _shared_counts(session, principal, [o.id for o in orgs]) if orgs else {}
    return [
        EvidenceLink(
            "sharing",
            f"sharing:org:{o.id}",
            t(SHARED_LABEL) % {"org": o.name, "num": counts[o.id], "days": WINDOW_DAYS},
            "/objects?" + urlencode({"owner": o.id}),
            counts[o.id],
        )
        for o in orgs
        if counts.get(o.id)
    ]


def vulnerability_sharing(
    session: Session, principal: Principal, country: str, t: Translate = _same
) -> list[EvidenceLink]:
    """Vulnerabilities the country's organisations shared (coordinated disclosure, D5.6)."""
    orgs = country_orgs(session, country)
    counts = _shared_counts(session, principal, [o.id for o in orgs], ("vulnerability",))
    return [
        EvidenceLink(
            "vulnerability-sharing",
            f"vulnerability-sharing:org:{o.id}",
            t(VULNERABILITIES_LABEL) % {"org": o.name, "num": counts[o.id], "days": WINDOW_DAYS},
            "/objects?" + urlencode({"owner": o.id, "type": "vulnerability"}),
            counts[o.id],
        )
        for o in orgs
        if counts.get(o.id)
    ]


def directory(
    session: Session, principal: Principal, country: str, t: Translate = _same
) -> list[EvidenceLink]:
    """The country's member organisations, per kind and per sector (the node's directory)."""
    orgs = country_orgs(session, country)
    links = []
    groups: dict[str, list[str]] = {}
    for o in orgs:
        groups.setdefault(f"kind:{o.kind}", []).append(o.name)
        groups.setdefault(f"sector:{o.sector}", []).append(o.name)
    for key in sorted(groups):
        names = groups[key]
        what, _, value = key.partition(":")
        links.append(
            EvidenceLink(
                "directory",
                f"directory:{country}:{key}",
                t(LABELS[what])
                % {
                    "value": value,
                    "country": country,
                    "num": len(names),
                    "names": ", ".join(names),
                },
                "/assessments/directory?" + urlencode({"country": country, what: value}),
                len(names),
            )
        )
    return links


def _ci_directory(
    session: Session, principal: Principal, country: str, t: Translate
) -> list[EvidenceLink]:
    return [
        link
        for link in directory(session, principal, country, t)
        if link.ref.split(":sector:")[-1] in CI_SECTORS and ":sector:" in link.ref
    ]


def _csirt_directory(
    session: Session, principal: Principal, country: str, t: Translate
) -> list[EvidenceLink]:
    found = directory(session, principal, country, t)
    return [link for link in found if link.ref.endswith(":kind:csirt")]


register(EvidenceKind("sharing", ("D1.2", "D1.3", "D4.4"), sharing))
register(EvidenceKind("vulnerability-sharing", ("D5.6",), vulnerability_sharing))
register(EvidenceKind("directory-csirt", ("D1.2",), _csirt_directory))
register(EvidenceKind("directory-ci", ("D1.3",), _ci_directory))


def for_country(
    session: Session, principal: Principal, country: str, t: Translate = _same
) -> dict[str, list[EvidenceLink]]:
    """Factor id -> the evidence links the node holds for it (kinds whose data is absent give
    none), labelled through `t` (a page passes its translation)."""
    found: dict[str, list[EvidenceLink]] = {}
    for kind in REGISTRY.values():
        if not kind.available(session):
            continue
        links = kind.provide(session, principal, country, t)
        for factor in kind.factors if links else ():
            found.setdefault(factor, []).extend(links)
    return found
