"""REST shapes of the incident domain (pydantic), shared by its views."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from minga.api.deps import StrictDbId, UtcDatetime
from minga.incidents.deadlines import ClockState, clocks
from minga.incidents.flows import Hop, chain
from minga.incidents.models import Incident
from minga.incidents.reference import label_of
from minga.incidents.service import named_orgs, org_names
from minga.policy import Principal


class IncidentIn(BaseModel):
    title: str = Field(min_length=1, max_length=300)
    classification: str = Field(
        min_length=1, max_length=120, description='RSIT tag, e.g. rsit:fraud="phishing"'
    )
    severity: str = Field(min_length=1, max_length=40, description="on the node's scale")
    description: str = Field(default="", max_length=100_000)
    tlp: str = Field(default="amber", max_length=20)
    pap: str = Field(default="amber", max_length=20)
    affected_org_ids: list[StrictDbId] = Field(default_factory=list, max_length=200)
    assigned_org_ids: list[StrictDbId] = Field(default_factory=list, max_length=200)
    sectors: list[str] = Field(default_factory=list, max_length=50)
    countries: list[str] = Field(default_factory=list, max_length=50)
    detected_at: UtcDatetime | None = None


class IncidentPatch(BaseModel):
    title: str | None = Field(default=None, max_length=300)
    description: str | None = Field(default=None, max_length=100_000)
    classification: str | None = Field(default=None, max_length=120)
    severity: str | None = Field(default=None, max_length=40)
    tlp: str | None = Field(default=None, max_length=20)
    pap: str | None = Field(default=None, max_length=20)
    lessons: str | None = Field(default=None, max_length=100_000)


class NamedOrgOut(BaseModel):
    org_id: int
    name: str
    role: str


class IncidentOut(BaseModel):
    id: int
    title: str
    description: str
    classification: str
    classification_label: str
    severity: str
    status: str
    tlp: str
    pap: str
    org_id: int
    organisation: str
    sectors: list[str]
    countries: list[str]
    lessons: str
    detected_at: UtcDatetime
    created_at: UtcDatetime
    updated_at: UtcDatetime
    acknowledged_at: UtcDatetime | None
    contained_at: UtcDatetime | None
    resolved_at: UtcDatetime | None
    closed_at: UtcDatetime | None
    parent_id: int | None
    organisations: list[NamedOrgOut]


class ClockOut(BaseModel):
    clock: str
    hours: float
    due_at: UtcDatetime
    met_at: UtcDatetime | None
    state: str
    seconds_left: int


class HopOut(BaseModel):
    id: int
    from_incident_id: int
    to_incident_id: int
    from_org: str
    to_org: str
    tlp: str
    pap: str
    shared: list[str]
    redacted: list[str]
    sent_at: UtcDatetime
    ack_due_at: UtcDatetime
    acknowledged_at: UtcDatetime | None
    state: str


class IncidentDetail(IncidentOut):
    clocks: list[ClockOut]
    escalation: list[HopOut]


def incident_out(session: Session, incident: Incident) -> IncidentOut:
    named = named_orgs(session, incident.id)
    names = org_names(session, [incident.org_id] + [n.org_id for n in named])
    return IncidentOut(
        id=incident.id,
        title=incident.title,
        description=incident.description,
        classification=incident.classification,
        classification_label=label_of(incident.classification),
        severity=incident.severity,
        status=incident.status,
        tlp=incident.tlp,
        pap=incident.pap,
        org_id=incident.org_id,
        organisation=names.get(incident.org_id, ""),
        sectors=[s for s in incident.sectors.split(",") if s],
        countries=[c for c in incident.countries.split(",") if c],
        lessons=incident.lessons,
        detected_at=incident.detected_at,
        created_at=incident.created_at,
        updated_at=incident.updated_at,
        acknowledged_at=incident.acknowledged_at,
        contained_at=incident.contained_at,
        resolved_at=incident.resolved_at,
        closed_at=incident.closed_at,
        parent_id=incident.parent_id,
        organisations=[
            NamedOrgOut(org_id=n.org_id, name=names.get(n.org_id, ""), role=n.role) for n in named
        ],
    )


def detail_out(
    session: Session, principal: Principal, incident: Incident, doc: dict[str, Any], now: Any
) -> IncidentDetail:
    base = incident_out(session, incident).model_dump()
    states: list[ClockState] = clocks(session, incident, doc, now)
    hops: list[Hop] = chain(session, principal, incident.id, now)
    return IncidentDetail(
        **base,
        clocks=[ClockOut(**asdict(c)) for c in states],
        escalation=[HopOut(**asdict(h)) for h in hops],
    )
