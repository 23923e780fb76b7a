"""Escalation across the federation: a hop to an organisation of another node travels as a
document signed with this node's Ed25519 key (`minga.federation.signing.sign_document`), sent
to the peer's `POST /federation/incidents` with the token it gave this node; the peer checks
the signature against the key it pinned for this node and opens the linked incident, held by
its operator organisation (the national CSIRT running it). The acknowledgement travels back
the same way (`POST /federation/incidents/ack`). Each hop has a `ref` both nodes know it by,
so a document sent twice opens nothing twice."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx
import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from minga import audit
from minga.accounts.node import operator_org_id
from minga.errors import Conflict, Forbidden, InvalidInput, NotFound
from minga.federation import peers
from minga.federation.keys import ensure_key
from minga.federation.models import PeerNode
from minga.federation.push import SyncError, token_of
from minga.federation.signing import sign_document, verify_document
from minga.incidents.models import Escalation, Incident, Record
from minga.incidents.service import (
    IncidentIn,
    aware,
    create_incident,
    note,
    org_names,
    parse_pap,
    parse_tlp,
)
from minga.policy import Principal

ESCALATION = "minga-incident-escalation"
ACKNOWLEDGEMENT = "minga-incident-acknowledgement"
Send = Callable[[PeerNode, str, dict[str, Any]], dict[str, Any]]


class PeerUnreachable(Conflict):
    code = "peer_unreachable"


def http_send(peer: PeerNode, path: str, doc: dict[str, Any]) -> dict[str, Any]:
    """POST a signed document to the peer with the token it gave this node; its JSON answer."""
    try:
        token = token_of(peer)
        response = httpx.post(
            peer.url.rstrip("/") + path,
            content=orjson.dumps(doc),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
            timeout=30,
        )
    except (httpx.HTTPError, SyncError) as exc:
        raise PeerUnreachable(f"cannot reach the peer {peer.name}: {exc}; retry later") from None
    if response.status_code not in (200, 201):
        raise PeerUnreachable(
            f"the peer {peer.name} answered {response.status_code}: {response.text[:300]}"
        )
    answer = orjson.loads(response.content)
    if not isinstance(answer, dict):
        raise PeerUnreachable(f"the peer {peer.name} answered something unexpected")
    return answer


def _when(value: datetime | None) -> str | None:
    value = aware(value)
    return value.isoformat() if value else None


def send_escalation(
    session: Session, hop: Escalation, *, node_name: str, send: Send = http_send
) -> int:
    """Send a hop to a peer node; the id of the incident it opened there."""
    assert hop.peer is not None and hop.ref is not None
    peer = peers.get_peer(session, hop.peer)
    mirror = session.get(Incident, hop.to_incident_id)
    assert mirror is not None
    names = org_names(session, [hop.from_org_id])
    records = session.scalars(select(Record).where(Record.incident_id == mirror.id))
    doc = {
        "type": ESCALATION,
        "from_node": node_name,
        "to_node": peer.name,
        "ref": hop.ref,
        "incident_id": hop.from_incident_id,
        "from_organisation": names.get(hop.from_org_id, ""),
        "sent_at": _when(hop.sent_at),
        "ack_due_at": _when(hop.ack_due_at),
        "incident": {
            "title": mirror.title,
            "description": mirror.description,
            "classification": mirror.classification,
            "severity": mirror.severity,
            "tlp": mirror.tlp,
            "pap": mirror.pap,
            "sectors": mirror.sectors,
            "countries": mirror.countries,
            "detected_at": _when(mirror.detected_at),
        },
        "records": [{"id": r.stix_id, "tlp": r.tlp, "pap": r.pap} for r in records],
    }
    answer = send(peer, "/federation/incidents", sign_document(doc, ensure_key(session)))
    remote_id = answer.get("incident_id")
    if not isinstance(remote_id, int):
        raise PeerUnreachable(f"the peer {peer.name} did not say which incident it opened")
    hop.remote_incident_id = remote_id
    text = f"received by {peer.name} as its incident #{remote_id}"
    note(session, None, mirror, "escalated", text, aware(hop.sent_at) or hop.sent_at)
    return remote_id


def _verified(
    session: Session, principal: Principal, doc: dict[str, Any], kind: str
) -> tuple[PeerNode, dict[str, Any]]:
    """The sending peer (the caller's machine account must be its) and the checked document."""
    peer = peers.peer_for_user(session, principal.user_id)
    if peer is None:
        raise Forbidden("only a federation peer's machine account sends incident documents")
    if peer.public_key is None:
        raise Conflict(f"the key of {peer.name} is not pinned yet; retry after the next sync")
    body = verify_document(doc, base64.b64decode(peer.public_key))
    if body.get("type") != kind or body.get("from_node") != peer.name:
        raise InvalidInput(f"a {kind} document from {peer.name} is expected")
    return peer, body


def _time(value: Any, field: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput(f"{field} is not an ISO 8601 time") from None
    result = aware(parsed)
    assert result is not None
    return result


def receive_escalation(
    session: Session, principal: Principal, doc: dict[str, Any], *, severity_scale: str
) -> Incident:
    """Open the incident a peer escalated here, held by this node's operator organisation."""
    peer, body = _verified(session, principal, doc, ESCALATION)
    ref = str(body.get("ref", ""))[:36]
    known = session.scalar(select(Escalation).where(Escalation.ref == ref))
    if known is not None:  # sent twice (a retry): the incident it opened the first time
        found = session.get(Incident, known.to_incident_id)
        assert found is not None
        return found
    holder = operator_org_id(session)
    if holder is None:
        raise Conflict("this node has no operator organisation to receive escalations")
    facts = body.get("incident")
    if not isinstance(facts, dict):
        raise InvalidInput("the document carries no incident")
    sent_at, due = (
        _time(body.get("sent_at"), "sent_at"),
        _time(body.get("ack_due_at"), "ack_due_at"),
    )
    data = IncidentIn(
        title=str(facts.get("title", ""))[:300],
        classification=str(facts.get("classification", "")),
        severity=str(facts.get("severity", "")),
        description=str(facts.get("description", "")),
        tlp=parse_tlp(str(facts.get("tlp", "amber"))).value,
        pap=parse_pap(str(facts.get("pap", "amber"))).value,
        sectors=str(facts.get("sectors", "")).split(","),
        countries=str(facts.get("countries", "")).split(","),
        detected_at=_time(facts.get("detected_at"), "detected_at"),
        reporter_org_id=peer.org_id,
    )
    if data.severity not in severity_scale.split(","):
        # Scales differ between countries: the peer's word is kept in the description.
        data.description = f"[{peer.name} severity: {data.severity}]\n{data.description}"
        data.severity = severity_scale.split(",")[-1]
    # The peer's case, as this node knows it, then the linked incident held here.
    theirs = create_incident(session, principal, data, severity_scale=severity_scale,
                             at=sent_at, holder_org_id=peer.org_id)  # fmt: skip
    mine = create_incident(session, principal, data, severity_scale=severity_scale,
                           at=sent_at, holder_org_id=holder)  # fmt: skip
    mine.parent_id = theirs.id
    for rec in body.get("records") or []:
        if isinstance(rec, dict) and isinstance(rec.get("id"), str):
            session.add(Record(incident_id=mine.id, stix_id=rec["id"][:300],
                               tlp=parse_tlp(str(rec.get("tlp", "amber"))).value,
                               pap=parse_pap(str(rec.get("pap", "amber"))).value,
                               org_id=peer.org_id, at=sent_at))  # fmt: skip
    shared = [r.get("id") for r in body.get("records") or [] if isinstance(r, dict)]
    session.add(
        Escalation(
            from_incident_id=theirs.id, to_incident_id=mine.id, from_org_id=peer.org_id,
            to_org_id=holder, tlp=data.tlp, pap=data.pap,
            shared=json.dumps(shared),
            redacted="[]", sent_at=sent_at, ack_due_at=due, peer=peer.name, ref=ref,
            remote_incident_id=int(body.get("incident_id") or 0) or None,
        )
    )  # fmt: skip
    who = str(body.get("from_organisation", ""))[:200]
    note(
        session, principal, mine, "escalated", f"escalated from {who} on node {peer.name}", sent_at
    )
    audit.record(session, principal, "incident.receive", "incident", mine.id, peer=peer.name)
    session.flush()
    return mine


def send_acknowledgement(
    session: Session, hop: Escalation, *, node_name: str, send: Send = http_send
) -> None:
    """Tell the peer that sent `hop` it was acknowledged here."""
    assert hop.peer is not None and hop.ref is not None
    peer = peers.get_peer(session, hop.peer)
    names = org_names(session, [hop.to_org_id])
    doc = {
        "type": ACKNOWLEDGEMENT,
        "from_node": node_name,
        "to_node": peer.name,
        "ref": hop.ref,
        "acknowledged_at": _when(hop.acknowledged_at),
        "by": names.get(hop.to_org_id, ""),
    }
    send(peer, "/federation/incidents/ack", sign_document(doc, ensure_key(session)))


def receive_acknowledgement(
    session: Session, principal: Principal, doc: dict[str, Any]
) -> Escalation:
    peer, body = _verified(session, principal, doc, ACKNOWLEDGEMENT)
    hop = session.scalar(
        select(Escalation).where(
            Escalation.ref == str(body.get("ref", ""))[:36],
            Escalation.peer == peer.name,
            Escalation.to_org_id == peer.org_id,
        )
    )
    if hop is None:
        raise NotFound("no escalation of this node to yours with that ref")
    if hop.acknowledged_at is not None:
        return hop  # sent twice
    at = _time(body.get("acknowledged_at"), "acknowledged_at")
    hop.acknowledged_at = at
    mirror = session.get(Incident, hop.to_incident_id)
    origin = session.get(Incident, hop.from_incident_id)
    who = str(body.get("by", ""))[:200]
    late = " (late)" if at > (aware(hop.ack_due_at) or at) else ""
    for incident in (mirror, origin):
        if incident is not None:
            note(session, principal, incident, "acknowledged",
                 f"acknowledged by {who} on node {peer.name}{late}", at)  # fmt: skip
    if mirror is not None:
        mirror.acknowledged_at = at
        mirror.status = "triage" if mirror.status == "new" else mirror.status
    audit.record(session, principal, "incident.acknowledged", "incident", hop.from_incident_id)
    return hop


def deliver(session: Session, hop: Escalation, *, node_name: str, send: Send = http_send) -> None:
    """After `flows.escalate` or `flows.acknowledge`: a hop across nodes is sent to the peer
    before the transaction commits (unreachable: the caller rolls back and retries later)."""
    if hop.peer is None:
        return
    if hop.acknowledged_at is None:
        send_escalation(session, hop, node_name=node_name, send=send)
    else:
        send_acknowledgement(session, hop, node_name=node_name, send=send)
