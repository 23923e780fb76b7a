"""REST of sensor alerts.

- `POST /api/sensor/alerts`: a sensor (a machine account of a member organisation) reports
  alerts: one alert, a list, or `{"alerts": [...]}` (`minga.sensor.alerts.Alert.as_json`, with
  an optional `id` of the sensor's own). 201 when one is new, 200 when all were known.
- `GET /api/sensor/alerts`: the organisation's alerts (`?status=open`), newest first.
- `GET /api/sensor/alerts/{id}`: one alert.
- `POST /api/sensor/alerts/{id}/dismiss|indicator|incident`: the review decisions.
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from minga.api.deps import CurrentPrincipal, DbId, NodeDep, SessionDep
from minga.errors import InvalidInput
from minga.intel import service as intel
from minga.policy import Tlp
from minga.sensor import alert_service as service

router = APIRouter(prefix="/api/sensor/alerts", tags=["sensor"])

ALERTS_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "description": "an alert, a list of alerts, or {alerts: [...]}",
                    "anyOf": [
                        {"type": "object"},
                        {"type": "array", "items": {"type": "object"}},
                    ],
                }
            }
        },
    }
}


def _json(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


async def _items(request: Request) -> list[Any]:
    raw = await request.body()
    if not raw:
        raise InvalidInput("the request body is empty: send an alert or {alerts: [...]}")
    try:
        payload = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"the body is not valid JSON: {exc}") from None
    if isinstance(payload, list):
        return payload
    if isinstance(payload, dict) and "alerts" in payload and "detector" not in payload:
        if not isinstance(payload["alerts"], list):
            raise InvalidInput("alerts must be a list")
        return list(payload["alerts"])
    return [payload]


@router.post(
    "", summary="Report sensor alerts (idempotent by the alert's id)", openapi_extra=ALERTS_BODY
)
async def report_alerts(
    request: Request, session: SessionDep, principal: CurrentPrincipal
) -> Response:
    items = await _items(request)

    def store() -> service.Received:
        received = service.receive(session, principal, items)
        session.commit()
        return received

    received = await run_in_threadpool(store)
    body = {
        "created": [{"id": c, "alert": n} for c, n in received.created],
        "existing": [{"id": c, "alert": n} for c, n in received.existing],
    }
    return _json(body, 201 if received.created else 200)


@router.get("", summary="Your organisation's sensor alerts, newest first")
def list_alerts(
    session: SessionDep,
    principal: CurrentPrincipal,
    status: Annotated[str | None, Query(max_length=16)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> Response:
    found = service.list_alerts(session, principal, status or None, limit)
    return _json({"alerts": [service.as_json(a) for a in found]})


@router.get("/{alert_id}", summary="One of your organisation's sensor alerts")
def get_alert(alert_id: DbId, session: SessionDep, principal: CurrentPrincipal) -> Response:
    return _json(service.as_json(service.get_alert(session, principal, alert_id)))


class DismissIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=4000)


class IndicatorIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    pattern: str | None = Field(default=None, max_length=4000, description="default: suggested")
    name: str = Field(min_length=1, max_length=300)
    tlp: str = "amber"
    reach: str = "community"


class IncidentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=1, max_length=300)
    classification: str = Field(min_length=1, max_length=120)
    severity: str = Field(min_length=1, max_length=40)
    tlp: str = "amber"


@router.post("/{alert_id}/dismiss", summary="Dismiss an alert, saying why")
def dismiss(
    alert_id: DbId, body: DismissIn, session: SessionDep, principal: CurrentPrincipal
) -> Response:
    row = service.dismiss(session, principal, alert_id, body.reason)
    session.commit()
    return _json(service.as_json(row))


@router.post("/{alert_id}/indicator", summary="Publish an indicator from an alert", status_code=201)
def to_indicator(
    alert_id: DbId, body: IndicatorIn, session: SessionDep, principal: CurrentPrincipal
) -> Response:
    row = service.get_alert(session, principal, alert_id)
    pattern = body.pattern if body.pattern is not None else service.suggested_pattern(row)
    stix_id = service.to_indicator(
        session, principal, alert_id, pattern=pattern, name=body.name,
        tlp=intel.parse_tlp(body.tlp) or Tlp.AMBER, reach=intel.parse_reach(body.reach),
    )  # fmt: skip
    session.commit()
    return _json({"indicator": stix_id, "alert": service.as_json(row)}, 201)


@router.post("/{alert_id}/incident", summary="Open an incident from an alert", status_code=201)
def to_incident(
    alert_id: DbId,
    body: IncidentIn,
    session: SessionDep,
    principal: CurrentPrincipal,
    node: NodeDep,
) -> Response:
    incident_id = service.to_incident(
        session, principal, alert_id, title=body.title, classification=body.classification,
        severity=body.severity, tlp=body.tlp, severity_scale=node.settings.incident_severities,
    )  # fmt: skip
    session.commit()
    row = service.get_alert(session, principal, alert_id)
    return _json({"incident": incident_id, "alert": service.as_json(row)}, 201)
