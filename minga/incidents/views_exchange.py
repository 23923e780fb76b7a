"""REST of incidents beyond the case itself: measures, exports (STIX 2.1, MISP), TheHive
import, and requests for assistance. Mounted before `/api/incidents/{id}` (fixed paths)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request
from pydantic import BaseModel, Field

from minga.api.deps import CurrentPrincipal, DbId, NodeDep, SessionDep, StrictDbId, UtcDatetime
from minga.incidents import assistance, interop
from minga.incidents.clock import now_from
from minga.incidents.measures import GROUPINGS, measures
from minga.incidents.schemas import IncidentOut, incident_out

router = APIRouter(tags=["incidents"])


class MeasureOut(BaseModel):
    group: str
    measure: str = Field(description="acknowledge, contain or resolve")
    count: int
    median_hours: float
    mean_hours: float


@router.get("/api/incidents/measures", response_model=list[MeasureOut])
def incident_measures(
    session: SessionDep,
    principal: CurrentPrincipal,
    by: Annotated[str, Query(description=", ".join(GROUPINGS))] = "organisation",
) -> list[MeasureOut]:
    """Time to acknowledge, contain and resolve, over the incidents you may see."""
    return [MeasureOut(**asdict(m)) for m in measures(session, principal, by)]


@router.post("/api/incidents/import/thehive", response_model=IncidentOut, status_code=201)
def import_thehive(
    request: Request,
    session: SessionDep,
    node: NodeDep,
    principal: CurrentPrincipal,
    case: dict[str, Any] = Body(description="a TheHive 5 case, as GET /api/v1/case/{id} answers"),
    classification: Annotated[
        str | None, Query(max_length=120, description="RSIT tag, if the case has none")
    ] = None,
) -> IncidentOut:
    incident = interop.import_thehive(
        session, principal, case, classification=classification,
        severity_scale=node.settings.incident_severities, at=now_from(request.app.state),
    )  # fmt: skip
    out = incident_out(session, incident)
    session.commit()
    return out


@router.get("/api/incidents/{incident_id}/export")
def export_incident(
    incident_id: DbId,
    session: SessionDep,
    node: NodeDep,
    principal: CurrentPrincipal,
    format: Annotated[str, Query(pattern="^(stix|misp)$", description="stix or misp")] = "stix",
) -> dict[str, Any]:
    """The incident as a STIX 2.1 bundle (incident-core extension) or as a MISP event."""
    scale = node.settings.incident_severities
    if format == "misp":
        return interop.misp_event(session, principal, incident_id, severity_scale=scale)
    return interop.stix_bundle(session, principal, incident_id, severity_scale=scale)


class AskIn(BaseModel):
    to_org_id: StrictDbId
    what: str = Field(min_length=1, max_length=2000, description="the help asked for")


class AnswerIn(BaseModel):
    accept: bool
    reply: str = Field(default="", max_length=2000)


class AssistanceOut(BaseModel):
    id: int
    incident_id: int
    incident_title: str = Field(description="empty for the organisation asked until it accepts")
    from_org_id: int
    to_org_id: int
    what: str
    status: str
    asked_at: UtcDatetime
    answered_at: UtcDatetime | None
    answer: str


def _out(a: assistance.Assistance, title: str) -> AssistanceOut:
    return AssistanceOut(
        id=a.id, incident_id=a.incident_id, incident_title=title, from_org_id=a.from_org_id,
        to_org_id=a.to_org_id, what=a.what, status=a.status, asked_at=a.asked_at,
        answered_at=a.answered_at, answer=a.answer,
    )  # fmt: skip


@router.get("/api/incidents/assistance", response_model=list[AssistanceOut])
def list_assistance(session: SessionDep, principal: CurrentPrincipal) -> list[AssistanceOut]:
    """Requests for assistance your organisation made or received."""
    return [_out(a, t) for a, t in assistance.requests_for(session, principal)]


@router.post(
    "/api/incidents/{incident_id}/assistance", response_model=AssistanceOut, status_code=201
)
def ask_assistance(
    incident_id: DbId,
    body: AskIn,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> AssistanceOut:
    made = assistance.ask(
        session, principal, incident_id, body.to_org_id, body.what, at=now_from(request.app.state)
    )
    out = _out(made, "")
    session.commit()
    return out


@router.post("/api/incidents/assistance/{request_id}/answer", response_model=AssistanceOut)
def answer_assistance(
    request_id: DbId,
    body: AnswerIn,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> AssistanceOut:
    done = assistance.answer(
        session, principal, request_id, body.accept, body.reply, at=now_from(request.app.state)
    )
    out = _out(done, "")
    session.commit()
    return out
