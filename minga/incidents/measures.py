"""Measures of incident response per organisation, sector and country: time to acknowledge an
escalation, to contain and to resolve (hours; median, mean and count) over the incidents the
caller may see — the evidence the assessment module reads."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from statistics import mean, median

from sqlalchemy import select
from sqlalchemy.orm import Session

from minga.accounts.models import Organisation
from minga.errors import InvalidInput
from minga.incidents.models import Escalation, Incident, IncidentOrg
from minga.incidents.service import aware
from minga.policy import Principal, incident_filter, real_only

GROUPINGS = ("organisation", "sector", "country")


@dataclass
class Measure:
    group: str
    measure: str  # acknowledge, contain, resolve
    count: int
    median_hours: float
    mean_hours: float


def _hours(start: datetime | None, end: datetime | None) -> float | None:
    start, end = aware(start), aware(end)
    if start is None or end is None or end < start:
        return None
    return (end - start).total_seconds() / 3600


def measures(session: Session, principal: Principal, by: str) -> list[Measure]:
    if by not in GROUPINGS:
        raise InvalidInput(f"group by one of {', '.join(GROUPINGS)}")
    visible = incident_filter(principal, Incident.__table__, IncidentOrg.__table__)
    real = real_only(Incident.__table__)  # drills are no evidence of capacity
    incidents = {i.id: i for i in session.scalars(select(Incident).where(visible, real))}
    orgs = {o.id: o for o in session.scalars(select(Organisation))}

    def group_of(incident: Incident) -> str:
        org = orgs.get(incident.org_id)
        if by == "organisation":
            return org.name if org else str(incident.org_id)
        own = incident.sectors if by == "sector" else incident.countries
        fallback = (org.sector if by == "sector" else org.country) if org else ""
        return (own.split(",")[0] if own else "") or fallback or "?"

    samples: dict[tuple[str, str], list[float]] = defaultdict(list)
    for incident in incidents.values():
        for name, end in (("contain", incident.contained_at), ("resolve", incident.resolved_at)):
            hours = _hours(incident.detected_at, end)
            if hours is not None:
                samples[(group_of(incident), name)].append(hours)
    hops = session.scalars(
        select(Escalation).where(
            Escalation.to_incident_id.in_(sorted(incidents)),
            Escalation.acknowledged_at.is_not(None),
        )
    )
    for hop in hops:
        hours = _hours(hop.sent_at, hop.acknowledged_at)
        if hours is not None:
            samples[(group_of(incidents[hop.to_incident_id]), "acknowledge")].append(hours)
    return [
        Measure(group, name, len(values), round(median(values), 2), round(mean(values), 2))
        for (group, name), values in sorted(samples.items())
    ]
