"""Sensor alerts on the node: received from a member's sensor, listed for its organisation, and
reviewed by its analysts, who turn one into an indicator (a STIX indicator stored through the
object store) or an incident (`minga.incidents`), or dismiss it with a reason. Every decision
is audit-logged. Visibility and authority: `minga.policy` (sensor alerts block)."""

from __future__ import annotations

import hashlib
import ipaddress
import math
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from minga import audit
from minga.errors import Conflict, Forbidden, InvalidInput, NotFound
from minga.incidents import service as incidents
from minga.intel import service as intel
from minga.intel.stix import now_ts
from minga.policy import (
    Principal,
    Reach,
    Tlp,
    may_report_sensor_alert,
    may_review_sensor_alert,
    may_see_sensor_alert,
    sensor_alert_filter,
)
from minga.sensor.alert_models import STATUSES, SensorAlert
from minga.sensor.alerts import Alert

MAX_BATCH = 500
MAX_REASON = 4000
MAX_FEATURES = 100
MAX_EVIDENCE = 65_536  # bytes of JSON
CLIENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
DOMAIN = re.compile(r"(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")


@dataclass
class Received:
    created: list[tuple[str, int]] = field(default_factory=list)  # (client id, alert number)
    existing: list[tuple[str, int]] = field(default_factory=list)


def client_id_of(data: dict[str, Any]) -> str:
    """The id a sensor gives an alert: its own, or one derived from the alert's content."""
    given = data.get("id")
    if given is not None:
        if not isinstance(given, str) or not CLIENT_ID.fullmatch(given):
            raise ValueError("id is 1 to 64 letters, digits, '.', '_', ':' or '-'")
        return given
    body = {k: v for k, v in data.items() if k != "id"}
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()[:32]


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _parse(index: int, data: Any) -> tuple[str, Alert]:
    def bad(why: str) -> InvalidInput:
        return InvalidInput(f"alert {index}: {why}", details=[{"index": index, "problem": why}])

    if not isinstance(data, dict):
        raise bad("an alert is a JSON object")
    try:
        client_id = client_id_of(data)
        alert = Alert.from_json(data)
    except KeyError as exc:
        raise bad(f"{exc.args[0]} is missing") from None
    except (TypeError, ValueError, AttributeError) as exc:
        raise bad(str(exc) or "a field has the wrong type") from None
    if not alert.detector.strip() or len(alert.detector) > 64:
        raise bad("detector is a name of 1 to 64 characters")
    if not alert.reason.strip() or len(alert.reason) > MAX_REASON:
        raise bad(f"reason is a sentence of 1 to {MAX_REASON} characters")
    if not 1 <= alert.count <= 2**31 - 1:
        raise bad("count is a whole number from 1")
    for name in ("source", "destination"):
        value = getattr(alert, name)
        if value is not None and (not isinstance(value, str) or len(value) > 300):
            raise bad(f"{name} is a text of at most 300 characters")
    if len(alert.features) > MAX_FEATURES:
        raise bad(f"at most {MAX_FEATURES} features")
    if not all(math.isfinite(v) and len(k) <= 200 for k, v in alert.features.items()):
        raise bad("features are names (at most 200 characters) with finite numbers")
    if len(orjson.dumps(alert.evidence, default=str)) > MAX_EVIDENCE:
        raise bad(f"evidence is at most {MAX_EVIDENCE} bytes of JSON")
    return client_id, alert


def receive(session: Session, principal: Principal, items: Sequence[Any]) -> Received:
    """Store the alerts a sensor sends (all or nothing); one already received (the same id from
    the same organisation) is answered as existing, not stored again."""
    if not may_report_sensor_alert(principal):
        raise Forbidden("your role may not report sensor alerts")
    if not items or len(items) > MAX_BATCH:
        raise InvalidInput(f"send 1 to {MAX_BATCH} alerts")
    parsed = [_parse(i, item) for i, item in enumerate(items)]
    ids = [cid for cid, _ in parsed]
    rows = session.execute(
        select(SensorAlert.client_id, SensorAlert.id).where(
            SensorAlert.org_id == principal.org_id, SensorAlert.client_id.in_(ids)
        )
    )
    known = {client_id: number for client_id, number in rows}
    result = Received()
    now = datetime.now(UTC)
    for client_id, alert in parsed:
        if client_id in known:
            result.existing.append((client_id, known[client_id]))
            continue
        row = SensorAlert(
            org_id=principal.org_id,
            client_id=client_id,
            reported_by=principal.user_id,
            detector=alert.detector.strip(),
            score=alert.score,
            reason=alert.reason.strip(),
            source=alert.source,
            destination=alert.destination,
            count=alert.count,
            features=orjson.dumps(alert.features).decode(),
            evidence=orjson.dumps(alert.evidence, default=str).decode(),
            first_seen=_utc(alert.first_seen),
            last_seen=_utc(alert.last_seen),
            received_at=now,
            status="open",
            decision_note="",
        )
        session.add(row)
        session.flush()
        known[client_id] = row.id
        result.created.append((client_id, row.id))
    if result.created:
        audit.record(
            session, principal, "sensor.alerts.receive", "sensor-alert",
            result.created[0][1] if len(result.created) == 1 else f"{len(result.created)} alerts",
            count=len(result.created),
        )  # fmt: skip
    return result


def list_alerts(
    session: Session, principal: Principal, status: str | None = None, limit: int = 200
) -> list[SensorAlert]:
    """The organisation's alerts, newest first (highest score first within a status)."""
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"unknown status {status!r}: one of {', '.join(STATUSES)}")
    query = select(SensorAlert).where(sensor_alert_filter(principal, SensorAlert.__table__))
    if status is not None:
        query = query.where(SensorAlert.status == status)
    query = query.order_by(SensorAlert.id.desc()).limit(max(1, min(limit, 1000)))
    return list(session.scalars(query))


def get_alert(session: Session, principal: Principal, alert_id: int) -> SensorAlert:
    row = session.get(SensorAlert, alert_id)
    if row is None or not may_see_sensor_alert(principal, row.org_id):
        raise NotFound("no such sensor alert")  # hidden and unknown: one answer
    return row


def as_json(row: SensorAlert) -> dict[str, Any]:
    return {
        "id": row.id,
        "client_id": row.client_id,
        "detector": row.detector,
        "score": row.score,
        "reason": row.reason,
        "source": row.source,
        "destination": row.destination,
        "count": row.count,
        "features": orjson.loads(row.features),
        "evidence": orjson.loads(row.evidence),
        "first_seen": _utc(row.first_seen).isoformat(),
        "last_seen": _utc(row.last_seen).isoformat(),
        "received_at": _utc(row.received_at).isoformat(),
        "status": row.status,
        "decision_note": row.decision_note,
        "result_ref": row.result_ref,
    }


def _open(session: Session, principal: Principal, alert_id: int) -> SensorAlert:
    row = get_alert(session, principal, alert_id)
    if not may_review_sensor_alert(principal, row.org_id):
        raise Forbidden("your role may not review sensor alerts")
    if row.status != "open":
        raise Conflict(f"this alert was already reviewed ({row.status})")
    return row


def _decide(
    session: Session, principal: Principal, row: SensorAlert, status: str, note: str, ref: str
) -> None:
    row.status = status
    row.decided_by = principal.user_id
    row.decided_at = datetime.now(UTC)
    row.decision_note = note[:4000]
    row.result_ref = ref or None
    audit.record(session, principal, f"sensor.alert.{status}", "sensor-alert", row.id,
                 result=ref or None, note=note[:200])  # fmt: skip


def dismiss(session: Session, principal: Principal, alert_id: int, reason: str) -> SensorAlert:
    row = _open(session, principal, alert_id)
    if not reason.strip():
        raise InvalidInput("say why the alert is dismissed (e.g. a known backup job)")
    _decide(session, principal, row, "dismissed", reason.strip(), "")
    return row


def suggested_pattern(row: SensorAlert) -> str:
    """A STIX pattern for the alert's destination (else source): an address or a domain."""
    for value in (row.destination, row.source):
        text = (value or "").strip().lower().rstrip(".")
        if not text:
            continue
        try:
            address = ipaddress.ip_address(text)
        except ValueError:
            if DOMAIN.fullmatch(text):
                return f"[domain-name:value = '{text}']"
            continue
        kind = "ipv4-addr" if address.version == 4 else "ipv6-addr"
        return f"[{kind}:value = '{address}']"
    return ""


def to_indicator(
    session: Session,
    principal: Principal,
    alert_id: int,
    *,
    pattern: str,
    name: str,
    tlp: Tlp,
    reach: Reach,
) -> str:
    """Publish a STIX indicator for the alert (the object store validates the pattern and
    checks the caller may publish); the alert records its id."""
    row = _open(session, principal, alert_id)
    if not pattern.strip():
        raise InvalidInput("an indicator needs a STIX pattern, e.g. [ipv4-addr:value = '…']")
    if not name.strip() or len(name) > 300:
        raise InvalidInput("an indicator needs a name of 1 to 300 characters")
    ts = now_ts()
    stix_id = f"indicator--{uuid.uuid4()}"
    obj = {
        "type": "indicator",
        "spec_version": "2.1",
        "id": stix_id,
        "created": ts,
        "modified": ts,
        "name": name.strip(),
        "description": f"From sensor alert {row.id} ({row.detector}, score "
        f"{row.score:.2f}): {row.reason}"[:4000],
        "indicator_types": ["anomalous-activity"],
        "pattern": pattern.strip(),
        "pattern_type": "stix",
        "valid_from": ts,
    }
    intel.create_objects(session, principal, [obj], tlp=tlp, reach=reach)
    _decide(session, principal, row, "indicator", "", stix_id)
    return stix_id


def to_incident(
    session: Session,
    principal: Principal,
    alert_id: int,
    *,
    title: str,
    classification: str,
    severity: str,
    tlp: str,
    severity_scale: str,
) -> int:
    """Open an incident held by the caller's organisation from the alert."""
    row = _open(session, principal, alert_id)
    data = incidents.IncidentIn(
        title=title,
        classification=classification,
        severity=severity,
        description=f"Sensor alert {row.id} ({row.detector}, score {row.score:.2f}): "
        f"{row.reason}\nsource: {row.source or '-'}; destination: {row.destination or '-'}; "
        f"{row.count} records",
        tlp=tlp,
        # an alert about records older than the incident desk accepts is dated now
        detected_at=_utc(row.first_seen) if row.first_seen.year >= 1990 else None,
    )
    incident = incidents.create_incident(session, principal, data, severity_scale=severity_scale)
    _decide(session, principal, row, "incident", "", str(incident.id))
    return incident.id
