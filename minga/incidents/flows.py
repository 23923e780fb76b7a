"""Flows beside the plain CRUD: escalate to the next level, acknowledge, deadlines and
regulatory clocks ("my deadlines"). Every time is computed against a `now` the caller passes,
so tests pin the clock."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from minga import audit
from minga.accounts import service as accounts
from minga.accounts.models import GroupMember, Organisation, User
from minga.errors import Conflict, Forbidden, InvalidInput, NotFound
from minga.incidents.models import Escalation, Incident, IncidentOrg, Record
from minga.incidents.service import (
    IncidentIn,
    aware,
    create_incident,
    get_incident,
    named_orgs,
    note,
    org_names,
    parse_pap,
    parse_tlp,
    workable,
)
from minga.intel.queries import get_object, marking_of
from minga.policy import (
    TLP_RANK,
    Action,
    Peer,
    Principal,
    Target,
    Tlp,
    incident_filter,
    may,
    may_node_receive,
    may_see,
)

REDACTABLE = ("description", "affected", "sectors", "countries")


PAP_RANK = {"clear": 0, "green": 1, "amber": 2, "red": 3}


def _stricter(a: str, b: str) -> str:
    return a if TLP_RANK[Tlp(a)] >= TLP_RANK[Tlp(b)] else b


def _stricter_pap(a: str, b: str) -> str:
    return a if PAP_RANK[a] >= PAP_RANK[b] else b


def _receiving_check(session: Session, org: Organisation) -> Callable[[Session, Any], bool]:
    """`(session, stored object) -> bool`: may the receiving organisation see it here, or (an
    organisation of another node) may its node receive it by federation?"""
    if org.remote_node is not None:
        groups = frozenset(
            session.scalars(select(GroupMember.group_id).where(GroupMember.org_id == org.id))
        )
        peer = Peer(node_name=org.remote_node, group_ids=groups)

        def node_receives(session: Session, obj: Any) -> bool:
            return may_node_receive(
                peer, marking_of(session, obj), origin_node=obj.origin_node, hop_count=0
            )

        return node_receives
    user = session.scalar(select(User).where(User.org_id == org.id).order_by(User.id).limit(1))
    if user is None:
        raise InvalidInput(f"{org.name} has no accounts yet: it could not acknowledge")
    receiver = accounts.principal_for(session, user)

    def sees(session: Session, obj: Any) -> bool:
        return may_see(receiver, marking_of(session, obj))

    return sees


def escalate(
    session: Session,
    principal: Principal,
    incident_id: int,
    *,
    to_org_id: int,
    tlp: str,
    pap: str,
    share: list[str],
    redact: list[str],
    ack_hours: float,
    severity_scale: str,
    at: datetime,
) -> Escalation:
    """Open the linked incident at the next level, held by `to_org_id`, with what this hop
    shares."""
    incident = get_incident(session, principal, incident_id)
    if not may(principal, Action.ESCALATE_INCIDENT, Target(org_id=incident.org_id)):
        raise Forbidden("only the organisation holding an incident escalates it")
    org = session.get(Organisation, to_org_id)
    if org is None:
        raise InvalidInput(f"no organisation {to_org_id}")
    if org.id == incident.org_id:
        raise InvalidInput("an incident is escalated to another organisation")
    taken = session.scalar(
        select(Escalation.id).where(
            Escalation.from_incident_id == incident.id, Escalation.to_org_id == org.id
        )
    )
    if taken is not None:
        raise Conflict(f"incident {incident.id} was already escalated to {org.name}")
    bad = sorted(set(redact) - set(REDACTABLE))
    if bad:
        raise InvalidInput(f"cannot redact {bad[0]!r}; redactable: {', '.join(REDACTABLE)}")
    if not 0 < ack_hours <= 24 * 30:
        raise InvalidInput("the acknowledgement deadline is 0 to 720 hours")
    hop_tlp, hop_pap = parse_tlp(tlp).value, parse_pap(pap).value
    # Who must be able to receive each shared record: a member organisation here, or the peer
    # node (the object travels there by federation sync, as its reach allows).
    may_receive = _receiving_check(session, org)
    linked = {
        r.stix_id: r
        for r in session.scalars(select(Record).where(Record.incident_id == incident.id))
    }
    for stix_id in share:
        if stix_id not in linked:
            raise InvalidInput(f"{stix_id} is not a record of incident {incident.id}")
        if not may_receive(session, get_object(session, principal, stix_id)):
            raise InvalidInput(
                f"{org.name} may not receive {stix_id} from the store: share it with them first"
            )
    affected = [o.org_id for o in named_orgs(session, incident.id) if o.role == "affected"]
    data = IncidentIn(
        title=incident.title,
        classification=incident.classification,
        severity=incident.severity,
        description="" if "description" in redact else incident.description,
        tlp=hop_tlp,
        pap=hop_pap,
        affected_org_ids=[] if "affected" in redact else affected,
        sectors=[] if "sectors" in redact else incident.sectors.split(","),
        countries=[] if "countries" in redact else incident.countries.split(","),
        detected_at=aware(incident.detected_at),
        reporter_org_id=incident.org_id,
    )
    nxt = create_incident(
        session, principal, data, severity_scale=severity_scale, at=at, holder_org_id=org.id
    )
    nxt.parent_id = incident.id
    nxt.exercise = incident.exercise  # an exercise case escalates within its exercise
    for stix_id in share:
        rec = linked[stix_id]
        session.add(
            Record(
                incident_id=nxt.id,
                stix_id=stix_id,
                tlp=_stricter(rec.tlp, hop_tlp),
                pap=_stricter_pap(rec.pap, hop_pap),
                org_id=principal.org_id,
                at=at,
            )
        )
    hop = Escalation(
        from_incident_id=incident.id,
        to_incident_id=nxt.id,
        from_org_id=incident.org_id,
        to_org_id=org.id,
        tlp=hop_tlp,
        pap=hop_pap,
        shared=json.dumps(share),
        redacted=json.dumps(sorted(set(redact))),
        sent_at=at,
        ack_due_at=at + timedelta(hours=ack_hours),
        peer=org.remote_node,
        ref=str(uuid.uuid4()),
    )
    session.add(hop)
    session.flush()
    note(
        session, principal, incident, "escalated",
        f"escalated to {org.name} as incident #{nxt.id} (TLP:{hop_tlp.upper()},"
        f" PAP:{hop_pap.upper()}, {len(share)} records; acknowledge within {ack_hours:g} h)", at,
    )  # fmt: skip
    note(session, principal, nxt, "escalated", f"escalated from incident #{incident.id}", at)
    audit.record(
        session, principal, "incident.escalate", "incident", incident.id,
        subject_org_id=org.id, to_incident=nxt.id,
    )  # fmt: skip
    return hop


def acknowledge(
    session: Session, principal: Principal, incident_id: int, *, at: datetime
) -> Escalation:
    """The receiving organisation acknowledges the escalation that opened `incident_id`."""
    incident = workable(session, principal, incident_id)
    hop = session.scalar(select(Escalation).where(Escalation.to_incident_id == incident.id))
    if hop is None:
        raise NotFound(f"incident {incident.id} was not escalated to anyone")
    if not may(principal, Action.ESCALATE_INCIDENT, Target(org_id=hop.to_org_id)):
        raise Forbidden("only the organisation the incident was escalated to acknowledges it")
    if hop.acknowledged_at is not None:
        raise Conflict(f"incident {incident.id} was already acknowledged")
    hop.acknowledged_at, hop.acknowledged_by = at, principal.user_id
    incident.acknowledged_at = at
    if incident.status == "new":
        incident.status = "triage"
    late = at > aware(hop.ack_due_at)  # type: ignore[operator]
    text = f"acknowledged by {principal.user_name or principal.user_id}" + (
        " (late)" if late else ""
    )
    note(session, principal, incident, "acknowledged", text, at)
    origin = session.get(Incident, hop.from_incident_id)
    if origin is not None:
        note(session, principal, origin, "acknowledged", f"incident #{incident.id}: {text}", at)
    audit.record(session, principal, "incident.acknowledge", "incident", incident.id)
    return hop


def hop_state(hop: Escalation, now: datetime) -> str:
    """acknowledged, pending, reminder (half the time gone) or overdue."""
    if hop.acknowledged_at is not None:
        return "acknowledged"
    sent, due = aware(hop.sent_at), aware(hop.ack_due_at)
    assert sent is not None and due is not None
    if now > due:
        return "overdue"
    if now >= sent + (due - sent) / 2:
        return "reminder"
    return "pending"


@dataclass
class Hop:
    id: int
    from_incident_id: int
    to_incident_id: int
    from_org: str
    to_org: str
    tlp: str
    pap: str
    shared: list[str]
    redacted: list[str]
    sent_at: datetime
    ack_due_at: datetime
    acknowledged_at: datetime | None
    state: str


def _hop(hop: Escalation, names: dict[int, str], now: datetime) -> Hop:
    return Hop(
        id=hop.id,
        from_incident_id=hop.from_incident_id,
        to_incident_id=hop.to_incident_id,
        from_org=names.get(hop.from_org_id, str(hop.from_org_id)),
        to_org=names.get(hop.to_org_id, str(hop.to_org_id)),
        tlp=hop.tlp,
        pap=hop.pap,
        shared=json.loads(hop.shared),
        redacted=json.loads(hop.redacted),
        sent_at=aware(hop.sent_at),  # type: ignore[arg-type]
        ack_due_at=aware(hop.ack_due_at),  # type: ignore[arg-type]
        acknowledged_at=aware(hop.acknowledged_at),
        state=hop_state(hop, now),
    )


def chain(session: Session, principal: Principal, incident_id: int, now: datetime) -> list[Hop]:
    """Every hop of the chain this incident is in, that touches an incident the caller sees."""
    incident = get_incident(session, principal, incident_id)
    root = incident
    seen = {root.id}
    while root.parent_id is not None and root.parent_id not in seen:
        parent = session.get(Incident, root.parent_id)
        if parent is None:
            break
        root = parent
        seen.add(parent.id)
    hops: list[Escalation] = []
    frontier = [root.id]
    while frontier:
        rows = list(
            session.scalars(
                select(Escalation)
                .where(Escalation.from_incident_id.in_(frontier))
                .order_by(Escalation.sent_at, Escalation.id)
            )
        )
        hops += rows
        frontier = [r.to_incident_id for r in rows]
    visible = _visible_ids(
        session, principal, {h.from_incident_id for h in hops} | {h.to_incident_id for h in hops}
    )
    shown = [h for h in hops if h.from_incident_id in visible or h.to_incident_id in visible]
    names = org_names(session, [h.from_org_id for h in shown] + [h.to_org_id for h in shown])
    return [_hop(h, names, now) for h in shown]


def _visible_ids(session: Session, principal: Principal, ids: set[int]) -> set[int]:
    if not ids:
        return set()
    named = IncidentOrg.__table__
    stmt = select(Incident.id).where(
        Incident.id.in_(sorted(ids)), incident_filter(principal, Incident.__table__, named)
    )
    return set(session.scalars(stmt))
