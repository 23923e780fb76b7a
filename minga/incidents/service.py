"""Incidents: open, read, list, change and close a case; its timeline. Visibility is
`minga.policy.may_see_incident` (and `incident_filter` for lists), authority `may(...)`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from minga import audit
from minga.accounts.models import Organisation
from minga.errors import Forbidden, InvalidInput, NotFound
from minga.events import outbox
from minga.incidents.models import ORG_ROLES, STATUSES, Incident, IncidentOrg, TimelineEntry
from minga.incidents.reference import check_classification, check_severity
from minga.policy import (
    Action,
    IncidentMarking,
    Pap,
    Principal,
    Target,
    Tlp,
    incident_filter,
    may,
    may_change_tlp,
    may_see_incident,
    real_only,
)

EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
STATUS_AT = {
    "contained": "contained_at",
    "resolved": "resolved_at",
    "closed": "closed_at",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


def aware(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes for UTC columns."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def parse_tlp(value: str) -> Tlp:
    try:
        return Tlp(value.lower().removeprefix("tlp:"))
    except ValueError:
        raise InvalidInput(f"unknown TLP {value!r}: one of {', '.join(Tlp)}") from None


def parse_pap(value: str) -> Pap:
    try:
        return Pap(value.lower().removeprefix("pap:").replace("white", "clear"))
    except ValueError:
        raise InvalidInput(f"unknown PAP {value!r}: one of {', '.join(Pap)}") from None


@dataclass
class IncidentIn:
    title: str
    classification: str
    severity: str
    description: str = ""
    tlp: str = "amber"
    pap: str = "amber"
    affected_org_ids: Sequence[int] = ()
    assigned_org_ids: Sequence[int] = ()
    sectors: Sequence[str] = ()
    countries: Sequence[str] = ()
    detected_at: datetime | None = None
    reporter_org_id: int | None = None  # default: the creating organisation
    extra_named: dict[int, str] = field(default_factory=dict)


def named_orgs(session: Session, incident_id: int) -> list[IncidentOrg]:
    stmt = select(IncidentOrg).where(IncidentOrg.incident_id == incident_id)
    return list(session.scalars(stmt.order_by(IncidentOrg.role, IncidentOrg.org_id)))


def marking_of(session: Session, incident: Incident) -> IncidentMarking:
    named = frozenset(o.org_id for o in named_orgs(session, incident.id))
    return IncidentMarking(incident.org_id, Tlp(incident.tlp), named)


def target_of(session: Session, incident: Incident) -> Target:
    marking = marking_of(session, incident)
    return Target(org_id=incident.org_id, member_org_ids=marking.named_org_ids)


def note(
    session: Session,
    principal: Principal | None,
    incident: Incident,
    kind: str,
    text: str,
    at: datetime,
) -> None:
    """An automatic (or analyst's) timeline entry."""
    session.add(
        TimelineEntry(
            incident_id=incident.id,
            at=at,
            user_id=principal.user_id if principal else None,
            org_id=principal.org_id if principal else None,
            kind=kind,
            text=text,
        )
    )
    incident.updated_at = at
    announce(session, principal, incident, kind, text)


def announce(
    session: Session, principal: Principal | None, incident: Incident, change: str, text: str
) -> None:
    """Every timeline entry is an incident update on the outbox (`outbox.INCIDENT`); streams
    tell whoever may see the incident when they deliver it."""
    if incident.id is None:
        session.flush()
    outbox.emit(
        session,
        outbox.INCIDENT,
        actor_org_id=principal.org_id if principal else None,
        actor_user_id=principal.user_id if principal else None,
        subject=f"incident:{incident.id}",
        payload={
            "incident_id": incident.id,
            "change": change,
            "text": text[:500],
            "title": incident.title,
            "status": incident.status,
            "severity": incident.severity,
        },
    )


def _orgs_exist(session: Session, ids: Iterable[int]) -> list[int]:
    wanted = sorted(set(ids))
    if not wanted:
        return []
    found = set(session.scalars(select(Organisation.id).where(Organisation.id.in_(wanted))))
    missing = [i for i in wanted if i not in found]
    if missing:
        raise InvalidInput(f"no organisation {missing[0]}")
    return wanted


def create_incident(
    session: Session,
    principal: Principal,
    data: IncidentIn,
    *,
    severity_scale: str,
    at: datetime | None = None,
    holder_org_id: int | None = None,
) -> Incident:
    """Open an incident held by the caller's organisation (or, for escalation, `holder_org_id`)."""
    if holder_org_id is None and not may(
        principal, Action.WORK_INCIDENT, Target(org_id=principal.org_id)
    ):
        raise Forbidden("your role may not open incidents")
    at = at or utcnow()
    title = data.title.strip()
    if not title or len(title) > 300:
        raise InvalidInput("an incident needs a title of 1 to 300 characters")
    detected = data.detected_at or at
    if not EARLIEST <= detected <= at + timedelta(days=1):
        raise InvalidInput("detected_at is a time between 1990 and now")
    countries = [c.strip().upper() for c in data.countries if c.strip()]
    if any(len(c) != 2 or not c.isalpha() for c in countries):
        raise InvalidInput("countries are ISO 3166 two-letter codes, e.g. CR")
    incident = Incident(
        title=title,
        description=data.description,
        classification=check_classification(session, data.classification),
        severity=check_severity(severity_scale, data.severity),
        status="new",
        tlp=parse_tlp(data.tlp).value,
        pap=parse_pap(data.pap).value,
        org_id=holder_org_id or principal.org_id,
        created_by=principal.user_id,
        sectors=",".join(s.strip() for s in data.sectors if s.strip())[:500],
        countries=",".join(countries)[:200],
        detected_at=detected,
        created_at=at,
        updated_at=at,
    )
    session.add(incident)
    session.flush()
    reporter = data.reporter_org_id or principal.org_id
    named: dict[tuple[int, str], None] = {(reporter, "reporter"): None}
    for org_id in _orgs_exist(session, data.affected_org_ids):
        named[(org_id, "affected")] = None
    for org_id in _orgs_exist(session, data.assigned_org_ids):
        named[(org_id, "assigned")] = None
    for org_id, role in data.extra_named.items():
        named[(org_id, role)] = None
    for org_id, role in named:
        session.add(IncidentOrg(incident_id=incident.id, org_id=org_id, role=role))
    note(session, principal, incident, "created", f"opened: {title}", at)
    audit.record(session, principal, "incident.create", "incident", incident.id)
    session.flush()
    return incident


def get_incident(session: Session, principal: Principal, incident_id: int) -> Incident:
    incident = session.get(Incident, incident_id)
    # Hidden and unknown get the same answer.
    if incident is None or not may_see_incident(principal, marking_of(session, incident)):
        raise NotFound(f"no incident {incident_id} that you may see")
    return incident


def workable(session: Session, principal: Principal, incident_id: int) -> Incident:
    """The incident, if the caller may work on it (tasks, notes, records, status)."""
    incident = get_incident(session, principal, incident_id)
    if not may(principal, Action.WORK_INCIDENT, target_of(session, incident)):
        raise Forbidden("only the organisations this incident names may work on it")
    return incident


@dataclass
class IncidentQuery:
    status: str | None = None
    classification: str | None = None
    severity: str | None = None
    org_id: int | None = None  # held by, or naming, this organisation
    q: str | None = None
    limit: int = 200
    offset: int = 0


def list_incidents(session: Session, principal: Principal, query: IncidentQuery) -> list[Incident]:
    named = IncidentOrg.__table__
    stmt = select(Incident).where(
        incident_filter(principal, Incident.__table__, named), real_only(Incident.__table__)
    )
    if query.status:
        stmt = stmt.where(Incident.status == query.status)
    if query.classification:
        stmt = stmt.where(Incident.classification.contains(query.classification))
    if query.severity:
        stmt = stmt.where(Incident.severity == query.severity)
    if query.org_id:
        in_named = select(IncidentOrg.incident_id).where(IncidentOrg.org_id == query.org_id)
        stmt = stmt.where(or_(Incident.org_id == query.org_id, Incident.id.in_(in_named)))
    if query.q:
        stmt = stmt.where(Incident.title.ilike(f"%{query.q}%"))
    stmt = stmt.order_by(Incident.updated_at.desc(), Incident.id.desc())
    return list(session.scalars(stmt.limit(query.limit).offset(query.offset)))


def _may_move(old: str, new: str) -> bool:
    if old == "closed" or new == old:
        return False
    # Forward any number of steps; back to "in-progress" reopens a contained or resolved case.
    return STATUSES.index(new) > STATUSES.index(old) or new == "in-progress"


def set_status(
    session: Session, principal: Principal, incident_id: int, status: str, *, at: datetime
) -> Incident:
    incident = workable(session, principal, incident_id)
    if status not in STATUSES:
        raise InvalidInput(f"unknown status {status!r}: one of {', '.join(STATUSES)}")
    if not _may_move(incident.status, status):
        raise InvalidInput(f"an incident cannot go from {incident.status} to {status}")
    old, incident.status = incident.status, status
    if status in STATUS_AT and getattr(incident, STATUS_AT[status]) is None:
        setattr(incident, STATUS_AT[status], at)
    note(session, principal, incident, "status", f"status: {old} → {status}", at)
    audit.record(session, principal, "incident.status", "incident", incident.id, status=status)
    return incident


EDITABLE = ("title", "description", "classification", "severity", "tlp", "pap", "lessons")


def update_incident(
    session: Session,
    principal: Principal,
    incident_id: int,
    changes: dict[str, str],
    *,
    severity_scale: str,
    at: datetime,
) -> Incident:
    incident = workable(session, principal, incident_id)
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise InvalidInput(
            f"cannot change {sorted(unknown)[0]!r}; changeable: {', '.join(EDITABLE)}"
        )
    clean = dict(changes)
    if "classification" in clean:
        clean["classification"] = check_classification(session, clean["classification"])
    if "severity" in clean:
        clean["severity"] = check_severity(severity_scale, clean["severity"])
    if "pap" in clean:
        clean["pap"] = parse_pap(clean["pap"]).value
    if "tlp" in clean:
        new = parse_tlp(clean["tlp"])
        if not may_change_tlp(Tlp(incident.tlp), new, is_owner=principal.org_id == incident.org_id):
            raise Forbidden("only the holding organisation may lower an incident's TLP")
        clean["tlp"] = new.value
    if "title" in clean and not 0 < len(clean["title"].strip()) <= 300:
        raise InvalidInput("an incident needs a title of 1 to 300 characters")
    changed = [k for k, v in clean.items() if getattr(incident, k) != v]
    for key in changed:
        setattr(incident, key, clean[key])
    if changed:
        shown = ", ".join(
            f"{k}: {clean[k]}" if k in ("severity", "tlp", "pap", "classification") else k
            for k in changed
        )
        note(session, principal, incident, "changed", f"changed {shown}", at)
        audit.record(session, principal, "incident.update", "incident", incident.id, fields=changed)
    return incident


def set_named(
    session: Session,
    principal: Principal,
    incident_id: int,
    org_id: int,
    role: str,
    *,
    remove: bool = False,
    at: datetime,
) -> Incident:
    """Name an organisation as affected or assigned (or take it off)."""
    incident = workable(session, principal, incident_id)
    if role not in ORG_ROLES or role == "reporter":
        raise InvalidInput("role is affected or assigned")
    org = session.get(Organisation, org_id)
    if org is None:
        raise InvalidInput(f"no organisation {org_id}")
    key = (IncidentOrg.incident_id == incident.id, IncidentOrg.org_id == org_id)
    existing = session.scalar(select(IncidentOrg).where(*key, IncidentOrg.role == role))
    if remove and existing is not None:
        session.execute(delete(IncidentOrg).where(*key, IncidentOrg.role == role))
        note(session, principal, incident, "named", f"{org.name} no longer {role}", at)
    elif not remove and existing is None:
        session.add(IncidentOrg(incident_id=incident.id, org_id=org_id, role=role))
        note(session, principal, incident, "named", f"{org.name} {role}", at)
    return incident


def add_entry(
    session: Session, principal: Principal, incident_id: int, text: str, *, at: datetime
) -> TimelineEntry:
    """An analyst's timeline entry (what was seen or done, when)."""
    incident = workable(session, principal, incident_id)
    if not text.strip():
        raise InvalidInput("a timeline entry needs text")
    note(session, principal, incident, "note", text.strip()[:10000], at)
    session.flush()
    stmt = select(TimelineEntry).where(TimelineEntry.incident_id == incident.id)
    return session.scalars(stmt.order_by(TimelineEntry.id.desc()).limit(1)).one()


def timeline(session: Session, principal: Principal, incident_id: int) -> list[TimelineEntry]:
    incident = get_incident(session, principal, incident_id)
    stmt = select(TimelineEntry).where(TimelineEntry.incident_id == incident.id)
    return list(session.scalars(stmt.order_by(TimelineEntry.at, TimelineEntry.id)))


def org_names(session: Session, ids: Iterable[int]) -> dict[int, str]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = session.execute(
        select(Organisation.id, Organisation.name).where(Organisation.id.in_(wanted))
    )
    return {r.id: r.name for r in rows}
