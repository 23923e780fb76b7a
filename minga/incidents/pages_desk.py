"""The analyst's desk among the incident pages: my tasks (and requests for assistance), my
deadlines, measures. Mounted by `pages.py` before `/incidents/{incident_id}`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response

from minga.api.errors import status_of
from minga.errors import MingaError
from minga.incidents import assistance, deadlines, service, work
from minga.incidents.clock import clocks_doc, now_from
from minga.incidents.measures import GROUPINGS, measures
from minga.web.render import Ctx, Page, PageRoute, redirect, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)


def _now(ctx: Ctx) -> datetime:
    return now_from(ctx.request.app.state)


def _doc(ctx: Ctx) -> dict[str, Any]:
    return clocks_doc(ctx.request.app.state.node.settings.incident_clocks)


def page(ctx: Ctx, template: str, status: int = 200, **values: Any) -> Response:
    """An incident page, its menu showing how many of my deadlines are overdue or half gone
    (the notifications, until the node has a stream, e-mail or webhooks for them)."""
    states = [d.state for d in deadlines.my_deadlines(ctx.session, ctx.me, _doc(ctx), _now(ctx))]
    alerts = {"overdue": states.count("overdue"), "reminder": states.count("reminder")}
    return render(ctx, template, status, alerts=alerts, **values)


def _my_tasks(ctx: Ctx, code: int = 200, error: str = "") -> Response:
    requests = assistance.requests_for(ctx.session, ctx.me)
    names = service.org_names(ctx.session, [a.from_org_id for a, _ in requests]
                              + [a.to_org_id for a, _ in requests])  # fmt: skip
    return page(
        ctx, "incidents/my_tasks.html", code, error=error,
        tasks=work.my_tasks(ctx.session, ctx.me), now=_now(ctx),
        received=[(a, t, names.get(a.from_org_id, "")) for a, t in requests
                  if a.to_org_id == ctx.me.org_id],
        sent=[(a, t, names.get(a.to_org_id, "")) for a, t in requests
              if a.from_org_id == ctx.me.org_id],
    )  # fmt: skip


@router.get("/my/tasks", response_class=HTMLResponse)
def my_tasks_page(ctx: Page) -> Response:
    return _my_tasks(ctx)


@router.post("/assistance/{request_id}/answer", response_class=HTMLResponse)
def answer_assistance(ctx: Page, request_id: int) -> Response:
    accept = ctx.field("accept") == "1"
    try:
        done = assistance.answer(ctx.session, ctx.me, request_id, accept, ctx.field("reply"),
                                 at=_now(ctx))  # fmt: skip
        ctx.session.commit()
    except MingaError as exc:
        ctx.session.rollback()
        return _my_tasks(ctx, status_of(exc), exc.message)
    return redirect(ctx, f"/incidents/{done.incident_id}" if accept else "/incidents/my/tasks")


@router.get("/measures", response_class=HTMLResponse)
def measures_page(
    ctx: Page, by: Annotated[str, Query(pattern="^(organisation|sector|country)$")] = "organisation"
) -> Response:
    found = measures(ctx.session, ctx.me, by)
    return page(ctx, "incidents/measures.html", rows=found, by=by, groupings=GROUPINGS)


@router.get("/my/deadlines", response_class=HTMLResponse)
def my_deadlines_page(ctx: Page) -> Response:
    found = deadlines.my_deadlines(ctx.session, ctx.me, _doc(ctx), _now(ctx))
    return page(ctx, "incidents/my_deadlines.html", deadlines=found, now=_now(ctx))
