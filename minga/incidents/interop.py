"""Interoperability: an incident exported as a STIX 2.1 bundle (an `incident` object with the
incident-core extension, its identity, and the linked records the caller may see) and as a
MISP event; a TheHive 5 case (JSON, as its API answers `GET /api/v1/case/{id}`, optionally with
`tasks` and `observables`) imported as an incident."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from minga.accounts.models import Organisation
from minga.errors import InvalidInput
from minga.incidents import service, work
from minga.incidents.models import Incident
from minga.incidents.reference import rsit_tags, severities
from minga.intel.queries import get_object
from minga.intel.stix import TLP2_MARKING_ID
from minga.policy import Principal, Tlp

INCIDENT_CORE = "extension-definition--ef765651-680c-498d-9894-99799f2fa126"
# Stable ids: the same incident of the same holder exports to the same STIX id.
INCIDENT_NS = uuid.UUID("0b6a3c55-93a4-4a9e-8d0a-6f5d3f2b8e21")
INVESTIGATION = {"new": "new", "closed": "closed"}  # everything else is "open"


def _ts(value: datetime | None) -> str:
    value = service.aware(value)
    assert value is not None
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _criticality(incident: Incident, scale: list[str]) -> int:
    if incident.severity not in scale or len(scale) < 2:
        return 50
    return round(100 * scale.index(incident.severity) / (len(scale) - 1))


def stix_bundle(
    session: Session, principal: Principal, incident_id: int, *, severity_scale: str
) -> dict[str, Any]:
    incident = service.get_incident(session, principal, incident_id)
    holder = session.get(Organisation, incident.org_id)
    assert holder is not None
    stix_id = f"incident--{uuid.uuid5(INCIDENT_NS, f'{holder.identity_ref}/{incident.id}')}"
    records = [
        get_object(session, principal, r.stix_id).object()
        for r in work.records_of(session, principal, incident.id)
    ]
    determination = (
        "confirmed" if incident.status in ("contained", "resolved", "closed") else "suspected"
    )
    obj = {
        "type": "incident",
        "spec_version": "2.1",
        "id": stix_id,
        "created": _ts(incident.created_at),
        "modified": _ts(incident.updated_at),
        "name": incident.title,
        "description": incident.description,
        "created_by_ref": holder.identity_ref,
        "object_marking_refs": [TLP2_MARKING_ID[Tlp(incident.tlp)]],
        "labels": [incident.classification, f"PAP:{incident.pap.upper()}"],
        "external_references": [{"source_name": "rsit", "description": incident.classification}],
        "extensions": {
            INCIDENT_CORE: {
                "extension_type": "property-extension",
                "determination": determination,
                "investigation_status": INVESTIGATION.get(incident.status, "open"),
                "criticality": _criticality(incident, severities(severity_scale)),
            }
        },
    }
    identity = {
        "type": "identity",
        "spec_version": "2.1",
        "id": holder.identity_ref,
        "created": _ts(holder.created_at),
        "modified": _ts(holder.created_at),
        "name": holder.name,
        "identity_class": "organization",
    }
    relations = [
        {
            "type": "relationship",
            "spec_version": "2.1",
            "id": f"relationship--{uuid.uuid5(INCIDENT_NS, stix_id + r['id'])}",
            "created": _ts(incident.created_at),
            "modified": _ts(incident.created_at),
            "relationship_type": "related-to",
            "source_ref": stix_id,
            "target_ref": r["id"],
        }
        for r in records
    ]
    return {
        "type": "bundle",
        "id": f"bundle--{uuid.uuid4()}",
        "objects": [obj, identity, *records, *relations],
    }


SIMPLE = re.compile(r"^\[\s*([a-z0-9-]+):([A-Za-z0-9_.'-]+)\s*=\s*'((?:[^'\\]|\\.)*)'\s*\]$")
MISP_TYPES = {
    ("ipv4-addr", "value"): "ip-dst",
    ("ipv6-addr", "value"): "ip-dst",
    ("domain-name", "value"): "domain",
    ("url", "value"): "url",
    ("email-addr", "value"): "email-src",
    ("file", "hashes.'SHA-256'"): "sha256",
    ("file", "hashes.'SHA-1'"): "sha1",
    ("file", "hashes.MD5"): "md5",
    ("file", "hashes.'MD5'"): "md5",
    ("file", "name"): "filename",
}
THREAT_LEVEL = {0: "4", 1: "3", 2: "2", 3: "1"}  # MISP: 1 high ... 4 undefined


def misp_event(
    session: Session, principal: Principal, incident_id: int, *, severity_scale: str
) -> dict[str, Any]:
    incident = service.get_incident(session, principal, incident_id)
    holder = session.get(Organisation, incident.org_id)
    assert holder is not None
    event_uuid = str(uuid.uuid5(INCIDENT_NS, f"misp/{holder.identity_ref}/{incident.id}"))
    attributes = []
    for rec in work.records_of(session, principal, incident.id):
        obj = get_object(session, principal, rec.stix_id).object()
        found = SIMPLE.match(str(obj.get("pattern", "")))
        kind = MISP_TYPES.get((found.group(1), found.group(2))) if found else None
        attributes.append(
            {
                "uuid": str(uuid.uuid5(INCIDENT_NS, f"{event_uuid}/{rec.stix_id}")),
                "type": kind or "text",
                "category": "Network activity" if kind in ("ip-dst", "domain", "url") else "Other",
                "value": found.group(3) if kind and found else str(obj.get("name") or rec.stix_id),
                "to_ids": bool(kind),
                "comment": rec.stix_id,
                "Tag": [{"name": f"tlp:{rec.tlp}"}, {"name": f"PAP:{rec.pap.upper()}"}],
            }
        )
    scale = severities(severity_scale)
    rank = scale.index(incident.severity) if incident.severity in scale else 0
    level = THREAT_LEVEL[min(3, round(3 * rank / max(1, len(scale) - 1)))]
    detected = service.aware(incident.detected_at)
    assert detected is not None
    return {
        "Event": {
            "uuid": event_uuid,
            "info": incident.title,
            "date": detected.date().isoformat(),
            "threat_level_id": level,
            "analysis": {"new": "0", "triage": "0", "resolved": "2", "closed": "2"}.get(
                incident.status, "1"
            ),
            "distribution": "0",
            "Orgc": {"name": holder.name, "uuid": holder.identity_ref.removeprefix("identity--")},
            "Tag": [
                {"name": f"tlp:{incident.tlp}"},
                {"name": f"PAP:{incident.pap.upper()}"},
                {"name": incident.classification},
            ],
            "Attribute": attributes,
        }
    }


# -- TheHive 5 ------------------------------------------------------------------------------

HIVE_TLP = {0: "clear", 1: "green", 2: "amber", 3: "red", 4: "amber+strict"}
HIVE_PAP = {0: "clear", 1: "green", 2: "amber", 3: "red"}
HIVE_OPEN = {"New": "new", "InProgress": "in-progress"}  # any other stage is a closed case
HIVE_PHASES = {"detect", "respond", "recover", "improve"}


def _millis(value: Any) -> datetime | None:
    """A TheHive time (ms since the epoch) between 1970 and 2100, else None."""
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 < value < 4.1e12:
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    return None


def _items(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _code(value: Any, table: dict[int, str]) -> str:
    return table.get(value, "amber") if isinstance(value, int) else "amber"


def import_thehive(
    session: Session,
    principal: Principal,
    case: dict[str, Any],
    *,
    classification: str | None,
    severity_scale: str,
    at: datetime,
) -> Incident:
    """A TheHive 5 case as an incident held by the caller's organisation."""
    if not isinstance(case, dict) or not isinstance(case.get("title"), str):
        raise InvalidInput("a TheHive case is a JSON object with a title")
    tags = [t for t in _items(case.get("tags")) if isinstance(t, str)]
    known = set(rsit_tags(session))
    chosen = classification or next((t for t in tags if t in known), None)
    if chosen is None:
        raise InvalidInput("the case has no rsit:... tag: give the classification to use")
    scale = severities(severity_scale)
    raw_severity = case.get("severity")
    hive_severity = raw_severity if isinstance(raw_severity, int) else 2
    index = round((min(max(hive_severity, 1), 4) - 1) * (len(scale) - 1) / 3)
    description = str(case.get("description") or "")
    if isinstance(case.get("summary"), str) and case["summary"]:
        description += f"\n\n{case['summary']}"
    data = service.IncidentIn(
        title=case["title"][:300],
        classification=chosen,
        severity=scale[index],
        description=description,
        tlp=_code(case.get("tlp", 2), HIVE_TLP),
        pap=_code(case.get("pap", 2), HIVE_PAP),
        detected_at=_millis(case.get("startDate")),
    )
    incident = service.create_incident(
        session, principal, data, severity_scale=severity_scale, at=at
    )
    number = str(case.get("number") or case.get("_id") or "?")[:40]
    service.note(
        session, principal, incident, "imported", f"imported from TheHive case #{number}", at
    )
    for task in _items(case.get("tasks")):
        if isinstance(task, dict) and isinstance(task.get("title"), str):
            group = str(task.get("group") or "").lower()
            made = work.add_task(
                session, principal, incident.id, title=task["title"][:300],
                phase=group if group in HIVE_PHASES else "", due_at=_millis(task.get("dueDate")),
                at=at,
            )  # fmt: skip
            if task.get("status") in ("Completed", "Cancel"):
                work.set_task_done(session, principal, made.id, True, at=at)
    for observable in _items(case.get("observables")):
        if isinstance(observable, dict) and observable.get("data"):
            text = f"observable {observable.get('dataType', '?')}: {observable['data']}"
            service.note(session, principal, incident, "observable", text[:2000], at)
    status = str(case.get("stage") or case.get("status") or "New")
    if status not in HIVE_OPEN:
        incident.status = "resolved"
        incident.resolved_at = _millis(case.get("endDate")) or at
    else:
        incident.status = HIVE_OPEN[status]
    session.flush()
    return incident
