"""Requests for assistance between organisations (CSIRTs helping CSIRTs): the holder of an
incident asks; the organisation asked sees the request (not the case) and accepts or declines;
accepting names it `assigned` on the incident and gives it a task with what was asked."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from minga import audit
from minga.accounts.models import Organisation
from minga.errors import Conflict, Forbidden, InvalidInput, NotFound
from minga.incidents.models import Assistance, Incident, IncidentOrg
from minga.incidents.service import get_incident, note
from minga.incidents.work import add_task
from minga.policy import Action, Principal, Target, may

__all__ = ["Assistance", "answer", "ask", "requests_for"]


def ask(
    session: Session,
    principal: Principal,
    incident_id: int,
    to_org_id: int,
    what: str,
    *,
    at: datetime,
) -> Assistance:
    incident = get_incident(session, principal, incident_id)
    if not may(principal, Action.ESCALATE_INCIDENT, Target(org_id=incident.org_id)):
        raise Forbidden("only the organisation holding an incident asks for assistance on it")
    org = session.get(Organisation, to_org_id)
    if org is None or org.remote_node is not None:
        raise InvalidInput(f"no organisation {to_org_id} on this node")
    if org.id == incident.org_id:
        raise InvalidInput("ask another organisation for assistance")
    if not 0 < len(what.strip()) <= 2000:
        raise InvalidInput("say what help is asked for (1 to 2000 characters)")
    request = Assistance(
        incident_id=incident.id, from_org_id=incident.org_id, to_org_id=org.id,
        what=what.strip(), status="asked", asked_at=at,
    )  # fmt: skip
    session.add(request)
    session.flush()
    note(
        session,
        principal,
        incident,
        "assistance",
        f"assistance asked of {org.name}: {request.what}",
        at,
    )
    audit.record(session, principal, "incident.assistance.ask", "incident", incident.id,
                 subject_org_id=org.id)  # fmt: skip
    return request


def answer(
    session: Session,
    principal: Principal,
    request_id: int,
    accept: bool,
    reply: str,
    *,
    at: datetime,
) -> Assistance:
    request = session.get(Assistance, request_id)
    # The organisation asked answers; anyone else is told there is no such request.
    if request is None or request.to_org_id != principal.org_id:
        raise NotFound(f"no request for assistance {request_id} to your organisation")
    if not may(principal, Action.ESCALATE_INCIDENT, Target(org_id=request.to_org_id)):
        raise Forbidden("your role may not answer requests for assistance")
    if request.status != "asked":
        raise Conflict(f"request {request.id} was already {request.status}")
    incident = session.get(Incident, request.incident_id)
    assert incident is not None
    request.status, request.answered_at, request.answer = (
        "accepted" if accept else "declined", at, reply.strip()[:2000],
    )  # fmt: skip
    org = session.get(Organisation, principal.org_id)
    name = org.name if org else str(principal.org_id)
    if accept:
        key = (IncidentOrg.incident_id == incident.id, IncidentOrg.org_id == principal.org_id,
               IncidentOrg.role == "assigned")  # fmt: skip
        if session.scalar(select(IncidentOrg).where(*key)) is None:
            session.add(
                IncidentOrg(incident_id=incident.id, org_id=principal.org_id, role="assigned")
            )
            session.flush()
        add_task(session, principal, incident.id, title=request.what[:300], phase="respond",
                 org_id=principal.org_id, at=at)  # fmt: skip
    note(session, principal, incident, "assistance",
         f"{name} {request.status} the request for assistance", at)  # fmt: skip
    return request


def requests_for(session: Session, principal: Principal) -> list[tuple[Assistance, str]]:
    """Requests the caller's organisation made or received, with the incident's title for
    those it may see (the organisation asked sees only what was asked until it accepts)."""
    stmt = (
        select(Assistance, Incident.title)
        .join(Incident, Incident.id == Assistance.incident_id)
        .where(
            or_(
                Assistance.to_org_id == principal.org_id, Assistance.from_org_id == principal.org_id
            )
        )
        .order_by(Assistance.asked_at.desc())
    )
    return [(a, title if a.from_org_id == principal.org_id or a.status == "accepted" else "")
            for a, title in session.execute(stmt).all()]  # fmt: skip
