"""Web pages of drills: scenarios (list, detail), exercises (create), the director's control
room (clock, timeline, what each team did, scores; refreshes itself while running), the team
view (inbox, acknowledge, answer, open an incident, publish an indicator, lessons learned),
improvement actions, and the after-action report (HTML, PDF). Every exercise page shows the
EXERCISE banner. Visibility and authority: the services (`minga.policy`)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from minga.accounts import service as accounts
from minga.api.errors import status_of
from minga.errors import InvalidInput, MingaError
from minga.exercises import improve, play, run, service
from minga.exercises import scenario as fmt
from minga.exercises.clock import minute_now
from minga.exercises.mailing import mailer_for
from minga.exercises.models import ACTION_STATUSES
from minga.exercises.pages_team import router as team_router
from minga.exercises.report import report_html
from minga.incidents.clock import now_from
from minga.incidents.service import org_names
from minga.intel.stix import format_ts
from minga.policy import may_create_exercise, may_direct_exercise, may_evaluate_exercise
from minga.web.render import Ctx, Page, PageRoute, redirect, render

router = APIRouter(prefix="/exercises", route_class=PageRoute, include_in_schema=False)
router.include_router(team_router)
HEADER = "X-Minga-Exercise"


def now_of(ctx: Ctx) -> datetime:
    return now_from(ctx.request.app.state)


def _list(ctx: Ctx, code: int = 200, error: str = "") -> Response:
    s, me = ctx.session, ctx.me
    scenarios = service.list_scenarios(s, now_of(ctx))
    s.commit()
    exercises = service.list_exercises(s, me)
    orgs = [o for o in accounts.list_organisations(s) if o.remote_node is None]
    return render(ctx, "exercises/list.html", code, error=error, exercises=exercises,
                  scenarios=scenarios, orgs=orgs, can_create=may_create_exercise(me),
                  langs=fmt.LANGS)  # fmt: skip


@router.get("", response_class=HTMLResponse)
def list_page(ctx: Page) -> Response:
    return _list(ctx)


@router.get("/scenarios/{scenario_id}", response_class=HTMLResponse)
def scenario_page(ctx: Page, scenario_id: int) -> Response:
    ctx.me  # noqa: B018 (signed in)
    sc = service.get_scenario(ctx.session, scenario_id)
    doc = service.doc_of(sc)
    lang = ctx.lang
    injects = [
        {"key": i["key"], "kind": i["kind"], "title": fmt.text(i["title"], lang),
         "body": fmt.text(i["body"], lang), "at": i.get("at_minutes"), "when": i.get("when"),
         "expectations": [(e["kind"], e["points"], fmt.text(e.get("text"), lang),
                           e.get("within_minutes")) for e in i.get("expectations", [])]}
        for i in doc["injects"]
    ]  # fmt: skip
    return render(ctx, "exercises/scenario.html", sc=sc, title=fmt.text(doc["title"], lang),
                  summary=fmt.text(doc["summary"], lang), sources=doc.get("sources", []),
                  injects=injects, questions=[fmt.text(q["text"], lang)
                                              for q in doc.get("questionnaire", [])])  # fmt: skip


@router.post("", response_class=HTMLResponse)
def create(ctx: Page) -> Response:
    try:
        teams = [int(t) for t in ctx.fields("teams")]
        speed = float(ctx.field("speed", "1") or "1")
    except ValueError:
        return _list(ctx, 422, ctx.t("Teams and speed must be numbers."))
    try:
        ex = service.create_exercise(
            ctx.session, ctx.me, scenario_id=int(ctx.field("scenario", "0") or 0),
            name=ctx.field("name"), lang=ctx.field("lang", ctx.lang), speed=speed,
            team_org_ids=teams, at=now_of(ctx),
        )  # fmt: skip
        ctx.session.commit()
    except MingaError as exc:
        ctx.session.rollback()
        return _list(ctx, status_of(exc), exc.message)
    return redirect(ctx, f"/exercises/{ex.id}")


def control_room(ctx: Ctx, exercise_id: int, code: int = 200, error: str = "") -> Response:
    """The director's and evaluators' page; a team member gets the team view."""
    s, me, now = ctx.session, ctx.me, now_of(ctx)
    ex = service.get_exercise(s, me, exercise_id)
    ctx_run = run.RunContext(ctx.request.app.state.node.settings.incident_severities,
                             mailer_for(ctx.request.app.state.node.settings))  # fmt: skip
    if run.tick(s, ex, now, ctx_run):
        s.commit()
    m = service.marking(s, ex)
    if not may_evaluate_exercise(me, m):
        from minga.exercises.pages_team import team_view

        return team_view(ctx, ex, code, error)
    sc = service.get_scenario(s, ex.scenario_id)
    doc = service.doc_of(sc)
    events = service.timeline(s, ex)
    scores = play.scores(s, ex)
    names = org_names(s, [e.org_id for e in events if e.org_id] + [t.org_id for t in scores])
    texts = {(i["key"], e["key"]): fmt.text(e.get("text"), ctx.lang)
             for i in doc["injects"] for e in i.get("expectations", [])}  # fmt: skip
    response = render(
        ctx, "exercises/control.html", code, error=error, ex=ex,
        title=fmt.text(doc["title"], ctx.lang),
        minute=minute_now(ex, now), events=list(reversed(events)), scores=scores, names=names,
        texts=texts, scripts=[d for d in play.inbox(s, me, ex) if d.kind == "phone"],
        can_direct=may_direct_exercise(me, m), actions=improve.actions_of(s, ex),
        orgs=[o for o in accounts.list_organisations(s) if o.remote_node is None],
    )  # fmt: skip
    response.headers[HEADER] = ex.ref
    return response


@router.get("/{exercise_id}", response_class=HTMLResponse)
def exercise_page(ctx: Page, exercise_id: int) -> Response:
    return control_room(ctx, exercise_id)


@router.post("/{exercise_id}/state/{change}", response_class=HTMLResponse)
def change_state(ctx: Page, exercise_id: int, change: str) -> Response:
    try:
        settings = ctx.request.app.state.node.settings
        run_ctx = run.RunContext(settings.incident_severities, mailer_for(settings))
        run.change(ctx.session, ctx.me, exercise_id, change, now_of(ctx), run_ctx)
        ctx.session.commit()
    except MingaError as exc:
        ctx.session.rollback()
        return control_room(ctx, exercise_id, status_of(exc), exc.message)
    return redirect(ctx, f"/exercises/{exercise_id}")


@router.post("/{exercise_id}/outcomes/{outcome_id}", response_class=HTMLResponse)
def decide(ctx: Page, exercise_id: int, outcome_id: int) -> Response:
    try:
        play.decide(ctx.session, ctx.me, exercise_id, outcome_id, ctx.field("status"),
                    note=ctx.field("note"), at=now_of(ctx))  # fmt: skip
        ctx.session.commit()
    except MingaError as exc:
        ctx.session.rollback()
        return control_room(ctx, exercise_id, status_of(exc), exc.message)
    return redirect(ctx, f"/exercises/{exercise_id}")


@router.post("/{exercise_id}/actions", response_class=HTMLResponse)
def add_action(ctx: Page, exercise_id: int) -> Response:
    try:
        org_id = int(ctx.field("org", "0") or 0)
        improve.add_action(ctx.session, ctx.me, exercise_id, org_id=org_id,
                           title=ctx.field("title"), detail=ctx.field("detail"),
                           at=now_of(ctx))  # fmt: skip
        ctx.session.commit()
    except ValueError:
        return control_room(ctx, exercise_id, 422, ctx.t("Choose an organisation."))
    except MingaError as exc:
        ctx.session.rollback()
        return control_room(ctx, exercise_id, status_of(exc), exc.message)
    return redirect(ctx, f"/exercises/{exercise_id}")


def _report(ctx: Ctx, exercise_id: int) -> str:
    ctx.activate()
    return report_html(ctx.session, ctx.me, exercise_id, ctx.web.env, ctx.lang, now_of(ctx))


@router.get("/{exercise_id}/report.html", response_class=HTMLResponse)
def report_page(ctx: Page, exercise_id: int) -> Response:
    csp = "default-src 'none'; style-src 'unsafe-inline'"
    return HTMLResponse(_report(ctx, exercise_id), headers={"Content-Security-Policy": csp})


@router.get("/{exercise_id}/report.pdf")
def report_pdf(ctx: Page, exercise_id: int) -> Response:
    from minga.reports.pdf import html_to_pdf

    name = f"exercise-{exercise_id}-{ctx.lang}.pdf"
    return Response(html_to_pdf(_report(ctx, exercise_id)), media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})  # fmt: skip


def indicator_from(ctx: Ctx, now: datetime) -> dict[str, Any]:
    """A STIX indicator from the team view's small form (name and pattern)."""
    pattern = ctx.field("pattern").strip()
    if not pattern:
        raise InvalidInput(ctx.t("An indicator needs a STIX pattern."))
    stamp = format_ts(now)
    return {"type": "indicator", "spec_version": "2.1", "id": f"indicator--{uuid.uuid4()}",
            "created": stamp, "modified": stamp, "valid_from": stamp, "pattern_type": "stix",
            "pattern": pattern, "name": ctx.field("name").strip() or pattern}  # fmt: skip


STATUSES = ACTION_STATUSES
