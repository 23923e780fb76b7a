"""Web pages of sensor alerts: the organisation's alerts, and the review page where an analyst
sees one (score, reason, features, evidence) and turns it into an indicator or an incident, or
dismisses it with a reason. Visibility and authority are the service's (`minga.policy`)."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response

from minga.api.deps import DbId
from minga.api.errors import status_of
from minga.errors import InvalidInput, MingaError
from minga.incidents.reference import label_of, rsit_tags, severities
from minga.policy import Reach, Tlp, may_review_sensor_alert
from minga.sensor import alert_service as service
from minga.sensor.alert_models import STATUSES, SensorAlert
from minga.web.i18n import N_
from minga.web.render import Ctx, Page, PageRoute, redirect, render

router = APIRouter(prefix="/sensor/alerts", route_class=PageRoute, include_in_schema=False)
STATUS_NAMES = {
    "open": N_("Open"),
    "indicator": N_("Made an indicator"),
    "incident": N_("Made an incident"),
    "dismissed": N_("Dismissed"),
}


def _scale(ctx: Ctx) -> str:
    return str(ctx.request.app.state.node.settings.incident_severities)


@router.get("", response_class=HTMLResponse)
def list_page(ctx: Page, status: Annotated[str | None, Query(max_length=16)] = "open") -> Response:
    found = service.list_alerts(ctx.session, ctx.me, status or None)
    return render(
        ctx,
        "sensor/alerts.html",
        alerts=found,
        chosen=status or "",
        statuses=STATUSES,
        status_names=STATUS_NAMES,
    )


def _review(
    ctx: Ctx, row: SensorAlert, code: int = 200, error: str = "", v: dict[str, str] | None = None
) -> Response:
    severity_list = severities(_scale(ctx))
    values = {
        "pattern": service.suggested_pattern(row),
        "name": f"{row.detector}: {row.destination or row.source or ''}".strip(": "),
        "title": f"{row.detector} ({row.source or '-'} → {row.destination or '-'})",
        "tlp": "amber",
        "reach": "community",
        "severity": severity_list[len(severity_list) // 2] if severity_list else "",
        "classification": "",
        "reason": "",
        **(v or {}),
    }
    features = sorted(orjson.loads(row.features).items(), key=lambda kv: -abs(float(kv[1])))
    return render(
        ctx,
        "sensor/alert.html",
        code,
        a=row,
        features=features,
        evidence=orjson.dumps(orjson.loads(row.evidence), option=orjson.OPT_INDENT_2).decode(),
        status_names=STATUS_NAMES,
        can_review=row.status == "open" and may_review_sensor_alert(ctx.me, row.org_id),
        tags=[(tag, label_of(tag)) for tag in rsit_tags(ctx.session)],
        severities=severity_list,
        tlps=[t.value for t in Tlp],
        reaches=[r.value for r in Reach],
        error=error,
        v=values,
    )


@router.get("/{alert_id}", response_class=HTMLResponse)
def alert_page(ctx: Page, alert_id: DbId) -> Response:
    return _review(ctx, service.get_alert(ctx.session, ctx.me, alert_id))


def _decided(ctx: Ctx, alert_id: int, act: Any, done: Any) -> Response:
    """Run a decision; a refusal shows the review page again with the form as filled."""
    form = {k: ctx.field(k) for k in ("pattern", "name", "title", "tlp", "reach", "severity",
                                      "classification", "reason")}  # fmt: skip
    try:
        result = act()
    except MingaError as exc:
        ctx.session.rollback()
        row = service.get_alert(ctx.session, ctx.me, alert_id)
        return _review(ctx, row, status_of(exc), exc.message, form)
    ctx.session.commit()
    return redirect(ctx, done(result))


def _choice(value: str, kind: type[Tlp] | type[Reach], what: str) -> Any:
    try:
        return kind(value)
    except ValueError:
        raise InvalidInput(f"choose a {what} from the list") from None


@router.post("/{alert_id}/indicator")
def make_indicator(ctx: Page, alert_id: DbId) -> Response:
    def act() -> str:
        return service.to_indicator(
            ctx.session, ctx.me, alert_id, pattern=ctx.field("pattern"),
            name=ctx.field("name"), tlp=_choice(ctx.field("tlp"), Tlp, "TLP"),
            reach=_choice(ctx.field("reach", "community"), Reach, "reach"),
        )  # fmt: skip

    return _decided(ctx, alert_id, act, lambda stix_id: f"/objects/{stix_id}")


@router.post("/{alert_id}/incident")
def make_incident(ctx: Page, alert_id: DbId) -> Response:
    def act() -> int:
        return service.to_incident(
            ctx.session, ctx.me, alert_id, title=ctx.field("title"),
            classification=ctx.field("classification"), severity=ctx.field("severity"),
            tlp=ctx.field("tlp", "amber"), severity_scale=_scale(ctx),
        )  # fmt: skip

    return _decided(ctx, alert_id, act, lambda incident_id: f"/incidents/{incident_id}")


@router.post("/{alert_id}/dismiss")
def dismiss(ctx: Page, alert_id: DbId) -> Response:
    def act() -> SensorAlert:
        return service.dismiss(ctx.session, ctx.me, alert_id, ctx.field("reason"))

    return _decided(ctx, alert_id, act, lambda _: f"/sensor/alerts/{alert_id}")
