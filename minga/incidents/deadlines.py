"""Deadlines: regulatory reporting clocks of an incident (first notice, full report) and
"my deadlines" (acknowledgements owed or awaited, clocks, tasks), computed against a `now`
the caller passes so tests pin the clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from minga.accounts.models import Organisation
from minga.errors import Conflict, Forbidden, InvalidInput
from minga.incidents.flows import hop_state
from minga.incidents.models import ClockMet, Escalation, Incident, IncidentOrg
from minga.incidents.reference import clock_rules
from minga.incidents.service import aware, get_incident, note, org_names
from minga.incidents.work import my_tasks
from minga.policy import Action, Principal, Target, incident_filter, may

# -- regulatory clocks ----------------------------------------------------------------------


@dataclass
class ClockState:
    clock: str
    hours: float
    due_at: datetime
    met_at: datetime | None
    state: str  # met, running, overdue
    seconds_left: int


def clocks(
    session: Session, incident: Incident, doc: dict[str, Any], now: datetime
) -> list[ClockState]:
    org = session.get(Organisation, incident.org_id)
    country = (incident.countries.split(",")[0] if incident.countries else "") or (
        org.country if org else ""
    )
    sector = (incident.sectors.split(",")[0] if incident.sectors else "") or (
        org.sector if org else ""
    )
    met = {
        c.clock: aware(c.met_at)
        for c in session.scalars(select(ClockMet).where(ClockMet.incident_id == incident.id))
    }
    detected = aware(incident.detected_at)
    assert detected is not None
    out = []
    for rule in clock_rules(doc, country, sector):
        due = detected + timedelta(hours=rule.hours)
        done = met.get(rule.clock)
        state = "met" if done else ("overdue" if now > due else "running")
        out.append(
            ClockState(rule.clock, rule.hours, due, done, state, int((due - now).total_seconds()))
        )
    return out


def mark_clock(
    session: Session,
    principal: Principal,
    incident_id: int,
    clock: str,
    doc: dict[str, Any],
    *,
    at: datetime,
) -> ClockMet:
    incident = get_incident(session, principal, incident_id)
    if not may(principal, Action.ESCALATE_INCIDENT, Target(org_id=incident.org_id)):
        raise Forbidden("only the organisation holding an incident reports it to the regulator")
    names = [c.clock for c in clocks(session, incident, doc, at)]
    if clock not in names:
        raise InvalidInput(f"no clock {clock!r} for this incident: one of {', '.join(names)}")
    row = session.get(ClockMet, (incident.id, clock))
    if row is not None:
        raise Conflict(f"{clock} was already marked met")
    row = ClockMet(incident_id=incident.id, clock=clock, met_at=at, user_id=principal.user_id)
    session.add(row)
    note(session, principal, incident, "clock", f"{clock} met", at)
    return row


# -- my deadlines ---------------------------------------------------------------------------


@dataclass
class Deadline:
    kind: str  # acknowledge, awaiting, overdue-hop, clock, task
    incident_id: int
    incident_title: str
    what: str
    due_at: datetime
    state: str


def my_deadlines(
    session: Session, principal: Principal, doc: dict[str, Any], now: datetime
) -> list[Deadline]:
    """What the caller's organisation must do, and by when; the node's coordinator also sees
    every overdue hop of the community (the escalation when a hop does not acknowledge)."""
    out: list[Deadline] = []
    named = IncidentOrg.__table__
    visible = incident_filter(principal, Incident.__table__, named)
    stmt = select(Escalation).where(Escalation.acknowledged_at.is_(None))
    if not (principal.operator_org and not principal.remote):
        stmt = stmt.where(
            or_(
                Escalation.to_org_id == principal.org_id,
                Escalation.from_org_id == principal.org_id,
            )
        )
    hop_rows = session.scalars(stmt.order_by(Escalation.ack_due_at))
    names: dict[int, str] = {}
    for hop in hop_rows:
        state = hop_state(hop, now)
        target = session.get(Incident, hop.to_incident_id)
        assert target is not None
        names |= org_names(session, [hop.to_org_id]) if hop.to_org_id not in names else {}
        if hop.to_org_id == principal.org_id:
            kind, what = "acknowledge", "acknowledge the escalation"
        elif hop.from_org_id == principal.org_id:
            kind, what = "awaiting", f"acknowledgement from {names[hop.to_org_id]}"
        elif state == "overdue":
            kind, what = "overdue-hop", f"{names[hop.to_org_id]} has not acknowledged"
        else:
            continue
        out.append(Deadline(kind, target.id, target.title, what, aware(hop.ack_due_at), state))  # type: ignore[arg-type]
    held = session.scalars(
        select(Incident).where(
            visible, Incident.org_id == principal.org_id, Incident.status != "closed"
        )
    )
    for incident in held:
        for c in clocks(session, incident, doc, now):
            if c.state != "met":
                out.append(
                    Deadline("clock", incident.id, incident.title, c.clock, c.due_at, c.state)
                )
    for task, incident in my_tasks(session, principal):
        due = aware(task.due_at)
        if due is not None:
            state = "overdue" if now > due else "running"
            out.append(Deadline("task", incident.id, incident.title, task.title, due, state))
    return sorted(out, key=lambda d: d.due_at)
