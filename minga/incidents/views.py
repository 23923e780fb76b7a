"""REST of incidents: `/api/incidents` (cases, status, timeline, escalation, clocks,
deadlines) and `/api/playbooks`. Work on a case (tasks, comments, attachments, records) is in
`views_work.py`, mounted through this router."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from minga.api.deps import CurrentPrincipal, DbId, NodeDep, SessionDep, StrictDbId, UtcDatetime
from minga.app import Node
from minga.errors import InvalidInput
from minga.federation import peers
from minga.incidents import deadlines, federated, flows, service
from minga.incidents.clock import clocks_doc, now_from
from minga.incidents.models import STATUSES
from minga.incidents.peer_views import router as peer_router
from minga.incidents.schemas import (
    ClockOut,
    HopOut,
    IncidentDetail,
    IncidentIn,
    IncidentOut,
    IncidentPatch,
    detail_out,
    incident_out,
)
from minga.incidents.views_exchange import router as exchange_router
from minga.incidents.views_playbooks import router as playbook_router
from minga.incidents.views_work import TaskOut, task_out
from minga.incidents.views_work import router as work_router

router = APIRouter(tags=["incidents"])
router.include_router(exchange_router)  # fixed paths before /api/incidents/{incident_id}
IncidentId = Annotated[DbId, "incident id"]


def _doc(node: Node) -> dict[str, Any]:
    return clocks_doc(node.settings.incident_clocks)


def _now(request: Request) -> datetime:
    return now_from(request.app.state)


class DeadlineOut(BaseModel):
    kind: str = Field(description="acknowledge, awaiting, overdue-hop, clock or task")
    incident_id: int
    incident_title: str
    what: str
    due_at: UtcDatetime
    state: str = Field(description="pending, reminder, overdue, running")


class MyTaskOut(TaskOut):
    incident_title: str


# Fixed paths first: /api/incidents/{id} would otherwise take "deadlines" as an id.
@router.get("/api/incidents/deadlines", response_model=list[DeadlineOut])
def my_deadlines(
    request: Request, session: SessionDep, node: NodeDep, principal: CurrentPrincipal
) -> list[DeadlineOut]:
    """What your organisation must do and by when: acknowledgements, regulatory clocks, tasks."""
    found = deadlines.my_deadlines(session, principal, _doc(node), _now(request))
    return [DeadlineOut(**asdict(d)) for d in found]


@router.get("/api/incidents/tasks", response_model=list[MyTaskOut])
def my_tasks(session: SessionDep, principal: CurrentPrincipal) -> list[MyTaskOut]:
    """Open tasks assigned to you, or to your organisation with nobody named."""
    from minga.incidents.work import my_tasks as open_tasks

    return [
        MyTaskOut(**task_out(t).model_dump(), incident_title=i.title)
        for t, i in open_tasks(session, principal)
    ]


@router.get("/api/incidents", response_model=list[IncidentOut])
def list_incidents(
    session: SessionDep,
    principal: CurrentPrincipal,
    status: Annotated[str | None, Query(description=", ".join(STATUSES))] = None,
    classification: Annotated[str | None, Query(max_length=120)] = None,
    severity: Annotated[str | None, Query(max_length=40)] = None,
    org: Annotated[DbId | None, Query(description="held by or naming this organisation")] = None,
    record: Annotated[str | None, Query(max_length=300, description="holding this STIX id")] = None,
    q: Annotated[str | None, Query(max_length=200, description="words of the title")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[IncidentOut]:
    if record:
        from minga.incidents.work import incidents_holding

        found = incidents_holding(session, principal, record)[offset : offset + limit]
    else:
        query = service.IncidentQuery(status, classification, severity, org, q, limit, offset)
        found = service.list_incidents(session, principal, query)
    return [incident_out(session, i) for i in found]


@router.post("/api/incidents", response_model=IncidentOut, status_code=201)
def create_incident(
    body: IncidentIn,
    request: Request,
    session: SessionDep,
    node: NodeDep,
    principal: CurrentPrincipal,
) -> IncidentOut:
    data = service.IncidentIn(**body.model_dump())
    incident = service.create_incident(
        session,
        principal,
        data,
        severity_scale=node.settings.incident_severities,
        at=_now(request),
    )
    out = incident_out(session, incident)
    session.commit()
    return out


@router.get("/api/incidents/{incident_id}", response_model=IncidentDetail)
def show_incident(
    incident_id: IncidentId,
    request: Request,
    session: SessionDep,
    node: NodeDep,
    principal: CurrentPrincipal,
) -> IncidentDetail:
    incident = service.get_incident(session, principal, incident_id)
    return detail_out(session, principal, incident, _doc(node), _now(request))


@router.patch("/api/incidents/{incident_id}", response_model=IncidentOut)
def update_incident(
    incident_id: IncidentId,
    body: IncidentPatch,
    request: Request,
    session: SessionDep,
    node: NodeDep,
    principal: CurrentPrincipal,
) -> IncidentOut:
    changes = {k: v for k, v in body.model_dump().items() if v is not None}
    incident = service.update_incident(
        session,
        principal,
        incident_id,
        changes,
        severity_scale=node.settings.incident_severities,
        at=_now(request),
    )
    out = incident_out(session, incident)
    session.commit()
    return out


class StatusIn(BaseModel):
    status: str = Field(description=" → ".join(STATUSES))


@router.post("/api/incidents/{incident_id}/status", response_model=IncidentOut)
def set_status(
    incident_id: IncidentId,
    body: StatusIn,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> IncidentOut:
    incident = service.set_status(session, principal, incident_id, body.status, at=_now(request))
    out = incident_out(session, incident)
    session.commit()
    return out


class NamedIn(BaseModel):
    org_id: StrictDbId
    role: str = Field(description="affected or assigned")
    remove: bool = False


@router.post("/api/incidents/{incident_id}/organisations", response_model=IncidentOut)
def set_named(
    incident_id: IncidentId,
    body: NamedIn,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> IncidentOut:
    incident = service.set_named(
        session,
        principal,
        incident_id,
        body.org_id,
        body.role,
        remove=body.remove,
        at=_now(request),
    )
    session.flush()
    out = incident_out(session, incident)
    session.commit()
    return out


class EntryIn(BaseModel):
    text: str = Field(min_length=1, max_length=10_000)


class EntryOut(BaseModel):
    id: int
    at: UtcDatetime
    kind: str
    text: str
    user_id: int | None
    org_id: int | None


@router.get("/api/incidents/{incident_id}/timeline", response_model=list[EntryOut])
def timeline(
    incident_id: IncidentId, session: SessionDep, principal: CurrentPrincipal
) -> list[EntryOut]:
    return [
        EntryOut(id=e.id, at=e.at, kind=e.kind, text=e.text, user_id=e.user_id, org_id=e.org_id)
        for e in service.timeline(session, principal, incident_id)
    ]


@router.post("/api/incidents/{incident_id}/timeline", response_model=EntryOut, status_code=201)
def add_entry(
    incident_id: IncidentId,
    body: EntryIn,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> EntryOut:
    e = service.add_entry(session, principal, incident_id, body.text, at=_now(request))
    out = EntryOut(id=e.id, at=e.at, kind=e.kind, text=e.text, user_id=e.user_id, org_id=e.org_id)
    session.commit()
    return out


class EscalateIn(BaseModel):
    to_org_id: StrictDbId | None = Field(
        default=None, description="the organisation at the next level (one of them)"
    )
    peer: str | None = Field(
        default=None, max_length=200, description="or a federation peer: its national CSIRT"
    )
    tlp: str = Field(default="amber", max_length=20, description="TLP of this hop")
    pap: str = Field(default="amber", max_length=20, description="PAP of this hop")
    share: list[str] = Field(default_factory=list, max_length=1000, description="STIX ids")
    redact: list[str] = Field(
        default_factory=list, description=", ".join(flows.REDACTABLE) + ": withheld"
    )
    ack_hours: float | None = Field(default=None, description="default MINGA_INCIDENT_ACK_HOURS")


@router.post("/api/incidents/{incident_id}/escalate", response_model=HopOut, status_code=201)
def escalate(
    incident_id: IncidentId,
    body: EscalateIn,
    request: Request,
    session: SessionDep,
    node: NodeDep,
    principal: CurrentPrincipal,
) -> HopOut:
    now = _now(request)
    if (body.to_org_id is None) == (body.peer is None):
        raise InvalidInput("name the next level: to_org_id (this node) or peer (another node)")
    to_org_id = body.to_org_id or peers.get_peer(session, body.peer or "").org_id
    hop = flows.escalate(
        session,
        principal,
        incident_id,
        to_org_id=to_org_id,
        tlp=body.tlp,
        pap=body.pap,
        share=body.share,
        redact=body.redact,
        ack_hours=body.ack_hours or node.settings.incident_ack_hours,
        severity_scale=node.settings.incident_severities,
        at=now,
    )
    session.flush()
    federated.deliver(session, hop, node_name=node.settings.node_name)
    out = next(h for h in flows.chain(session, principal, incident_id, now) if h.id == hop.id)
    session.commit()
    return HopOut(**asdict(out))


@router.post("/api/incidents/{incident_id}/acknowledge", response_model=HopOut)
def acknowledge(
    incident_id: IncidentId,
    request: Request,
    session: SessionDep,
    node: NodeDep,
    principal: CurrentPrincipal,
) -> HopOut:
    now = _now(request)
    hop = flows.acknowledge(session, principal, incident_id, at=now)
    session.flush()
    federated.deliver(session, hop, node_name=node.settings.node_name)
    out = next(h for h in flows.chain(session, principal, incident_id, now) if h.id == hop.id)
    session.commit()
    return HopOut(**asdict(out))


@router.get("/api/incidents/{incident_id}/escalation", response_model=list[HopOut])
def escalation(
    incident_id: IncidentId, request: Request, session: SessionDep, principal: CurrentPrincipal
) -> list[HopOut]:
    """Every hop of the chain this incident is in, with its acknowledgement state."""
    hops = flows.chain(session, principal, incident_id, _now(request))
    return [HopOut(**asdict(h)) for h in hops]


@router.post("/api/incidents/{incident_id}/clocks/{clock}", response_model=list[ClockOut])
def mark_clock(
    incident_id: IncidentId,
    clock: Annotated[str, "clock name"],
    request: Request,
    session: SessionDep,
    node: NodeDep,
    principal: CurrentPrincipal,
) -> list[ClockOut]:
    """Mark a regulatory clock met (the notice or report was sent)."""
    now = _now(request)
    deadlines.mark_clock(session, principal, incident_id, clock, _doc(node), at=now)
    session.flush()
    incident = service.get_incident(session, principal, incident_id)
    out = [ClockOut(**asdict(c)) for c in deadlines.clocks(session, incident, _doc(node), now)]
    session.commit()
    return out


router.include_router(playbook_router)
router.include_router(work_router)
router.include_router(peer_router)
