"""Federation routes of incidents: a peer node sends a signed escalation (`POST
/federation/incidents`) or acknowledgement (`POST /federation/incidents/ack`), authenticated
with the token this node gave it and verified with the key pinned for it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body
from pydantic import BaseModel

from minga.api.deps import CurrentPrincipal, NodeDep, SessionDep
from minga.incidents import federated

router = APIRouter(tags=["federation"])


class ReceivedOut(BaseModel):
    incident_id: int
    ref: str


@router.post("/federation/incidents", response_model=ReceivedOut, status_code=201)
def receive_escalation(
    doc: dict[str, Any] = Body(description="an escalation document signed by the sending node"),
    *,
    session: SessionDep,
    node: NodeDep,
    principal: CurrentPrincipal,
) -> ReceivedOut:
    incident = federated.receive_escalation(
        session, principal, doc, severity_scale=node.settings.incident_severities
    )
    session.commit()
    return ReceivedOut(incident_id=incident.id, ref=str(doc.get("ref")))


@router.post("/federation/incidents/ack", response_model=ReceivedOut)
def receive_acknowledgement(
    doc: dict[str, Any] = Body(description="an acknowledgement signed by the receiving node"),
    *,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> ReceivedOut:
    hop = federated.receive_acknowledgement(session, principal, doc)
    session.commit()
    return ReceivedOut(incident_id=hop.from_incident_id, ref=hop.ref or "")
