"""The incident report: summary, timeline, actions, indicators and lessons learned, as one
HTML document (es/pt/en) that `minga.reports.pdf` also lays out as a PDF."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from jinja2 import Environment
from sqlalchemy.orm import Session

from minga.incidents import flows, service, work
from minga.incidents.reference import label_of
from minga.intel.queries import get_object
from minga.policy import Principal


def fmt(value: datetime | None) -> str:
    value = service.aware(value)
    return f"{value:%Y-%m-%d %H:%M} UTC" if value else "—"


def report_values(
    session: Session, principal: Principal, incident_id: int, now: datetime
) -> dict[str, Any]:
    incident = service.get_incident(session, principal, incident_id)
    named = service.named_orgs(session, incident.id)
    tasks = work.tasks_of(session, principal, incident.id)
    names = service.org_names(
        session, [incident.org_id] + [n.org_id for n in named] + [t.org_id for t in tasks]
    )
    indicators = []
    for rec in work.records_of(session, principal, incident.id):
        obj = get_object(session, principal, rec.stix_id).object()
        shown = obj.get("name") or obj.get("pattern") or obj.get("value") or rec.stix_id
        indicators.append({"id": rec.stix_id, "type": obj.get("type"), "shown": shown,
                           "tlp": rec.tlp, "pap": rec.pap})  # fmt: skip
    return {
        "i": incident,
        "label": label_of(incident.classification),
        "holder": names.get(incident.org_id, ""),
        "named": [(names.get(n.org_id, ""), n.role) for n in named],
        "timeline": service.timeline(session, principal, incident.id),
        "tasks": [(t, names.get(t.org_id, "")) for t in tasks],
        "indicators": indicators,
        "hops": flows.chain(session, principal, incident.id, now),
        "fmt": fmt,
        "generated": fmt(now),
    }


def report_html(
    session: Session,
    principal: Principal,
    incident_id: int,
    env: Environment,
    lang: str,
    now: datetime,
) -> str:
    """The report in `lang` (the caller activated that language's catalog)."""
    values = report_values(session, principal, incident_id, now)
    return env.get_template("incidents/report.html").render(lang=lang, **values)
