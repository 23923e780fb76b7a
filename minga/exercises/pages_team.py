"""The team's side of an exercise page (inbox, acknowledge, answer, open an incident, publish
an indicator, lessons learned) and an organisation's improvement actions. Mounted by
`pages.py` before `/exercises/{exercise_id}`."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from minga.api.errors import status_of
from minga.errors import MingaError
from minga.exercises import improve, play, service
from minga.exercises.models import ACTION_STATUSES, Exercise
from minga.incidents import service as incidents
from minga.incidents.clock import now_from
from minga.incidents.reference import rsit_tags, severities
from minga.incidents.service import org_names
from minga.policy import may_play_exercise
from minga.web.render import Ctx, Page, PageRoute, redirect, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)


def team_view(ctx: Ctx, ex: Exercise, code: int = 200, error: str = "") -> Response:
    s, me = ctx.session, ctx.me
    answers = {x.question: x.answer for x in improve.lessons_of(s, ex) if x.org_id == me.org_id}
    response = render(
        ctx, "exercises/team.html", code, error=error, ex=ex,
        inbox=play.inbox(s, me, ex), incidents=play.exercise_incidents(s, me, ex),
        objects=play.exercise_objects(s, me, ex), questions=improve.questions(s, ex),
        answers=answers, can_play=may_play_exercise(me, service.marking(s, ex)),
        tags=rsit_tags(s),
        severities=severities(ctx.request.app.state.node.settings.incident_severities),
    )  # fmt: skip
    response.headers["X-Minga-Exercise"] = ex.ref
    return response


def _back(ctx: Ctx, exercise_id: int, exc: MingaError) -> Response:
    from minga.exercises.pages import control_room

    ctx.session.rollback()
    return control_room(ctx, exercise_id, status_of(exc), exc.message)


@router.get("/actions", response_class=HTMLResponse)
def actions_page(ctx: Page, code: int = 200, error: str = "") -> Response:
    """Your organisation's improvement actions from every exercise, tracked to closure."""
    found = improve.actions_for_org(ctx.session, ctx.me, ctx.me.org_id)
    names = {ex.id: ex.name for ex in service.list_exercises(ctx.session, ctx.me)}
    return render(ctx, "exercises/actions.html", code, error=error, actions=found,
                  exercises=names, statuses=ACTION_STATUSES,
                  org=org_names(ctx.session, [ctx.me.org_id]).get(ctx.me.org_id, ""))  # fmt: skip


@router.post("/actions/{action_id}", response_class=HTMLResponse)
def set_action(ctx: Page, action_id: int) -> Response:
    try:
        improve.set_action_status(ctx.session, ctx.me, action_id, ctx.field("status"),
                                  at=now_from(ctx.request.app.state))  # fmt: skip
        ctx.session.commit()
    except MingaError as exc:
        ctx.session.rollback()
        return actions_page(ctx, status_of(exc), exc.message)
    return redirect(ctx, "/exercises/actions")


@router.post("/{exercise_id}/ack/{delivery_id}", response_class=HTMLResponse)
def acknowledge(ctx: Page, exercise_id: int, delivery_id: int) -> Response:
    try:
        play.acknowledge(ctx.session, ctx.me, exercise_id, delivery_id,
                         at=now_from(ctx.request.app.state))  # fmt: skip
        ctx.session.commit()
    except MingaError as exc:
        return _back(ctx, exercise_id, exc)
    return redirect(ctx, f"/exercises/{exercise_id}")


@router.post("/{exercise_id}/answer/{delivery_id}", response_class=HTMLResponse)
def answer(ctx: Page, exercise_id: int, delivery_id: int) -> Response:
    try:
        play.answer(ctx.session, ctx.me, exercise_id, delivery_id, ctx.field("answer"),
                    at=now_from(ctx.request.app.state))  # fmt: skip
        ctx.session.commit()
    except MingaError as exc:
        return _back(ctx, exercise_id, exc)
    return redirect(ctx, f"/exercises/{exercise_id}")


@router.post("/{exercise_id}/incident", response_class=HTMLResponse)
def open_incident(ctx: Page, exercise_id: int) -> Response:
    data = incidents.IncidentIn(title=ctx.field("title"), description=ctx.field("description"),
                                classification=ctx.field("classification"),
                                severity=ctx.field("severity"))  # fmt: skip
    settings = ctx.request.app.state.node.settings
    try:
        play.open_incident(ctx.session, ctx.me, exercise_id, data,
                           severity_scale=settings.incident_severities,
                           at=now_from(ctx.request.app.state))  # fmt: skip
        ctx.session.commit()
    except MingaError as exc:
        return _back(ctx, exercise_id, exc)
    return redirect(ctx, f"/exercises/{exercise_id}")


@router.post("/{exercise_id}/indicator", response_class=HTMLResponse)
def publish_indicator(ctx: Page, exercise_id: int) -> Response:
    from minga.exercises.pages import indicator_from

    now = now_from(ctx.request.app.state)
    try:
        play.publish(ctx.session, ctx.me, exercise_id, [indicator_from(ctx, now)], at=now)
        ctx.session.commit()
    except MingaError as exc:
        return _back(ctx, exercise_id, exc)
    return redirect(ctx, f"/exercises/{exercise_id}")


@router.post("/{exercise_id}/lessons", response_class=HTMLResponse)
def lessons(ctx: Page, exercise_id: int) -> Response:
    ex = service.get_exercise(ctx.session, ctx.me, exercise_id)
    keys = [k for k, _ in improve.questions(ctx.session, ex)]
    answers = {k: ctx.field(f"q_{k}") for k in keys if ctx.field(f"q_{k}").strip()}
    try:
        improve.answer_lessons(ctx.session, ctx.me, exercise_id, answers,
                               at=now_from(ctx.request.app.state))  # fmt: skip
        ctx.session.commit()
    except MingaError as exc:
        return _back(ctx, exercise_id, exc)
    return redirect(ctx, f"/exercises/{exercise_id}")
