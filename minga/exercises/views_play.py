"""REST of what teams do in an exercise (inbox, acknowledge, answer, incidents and objects in
the exercise space, lessons learned), improvement actions, and the after-action report."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse

from minga.api.deps import CurrentPrincipal, DbId, NodeDep, SessionDep
from minga.exercises import improve, play, run, service
from minga.exercises.mailing import mailer_for
from minga.exercises.models import Delivery, ImprovementAction
from minga.exercises.schemas import (
    ActionIn,
    ActionOut,
    ActionPatch,
    AnswerIn,
    DeliveryOut,
    LessonsIn,
    ObjectsIn,
    ObjectsOut,
    PublishedOut,
)
from minga.incidents import service as incidents
from minga.incidents.clock import now_from
from minga.incidents.schemas import IncidentIn, IncidentOut, incident_out
from minga.web import i18n

router = APIRouter(tags=["exercises"])
HEADER = "X-Minga-Exercise"


def _now(request: Request) -> datetime:
    return now_from(request.app.state)


def delivery_out(d: Delivery, ref: str) -> DeliveryOut:
    return DeliveryOut(
        id=d.id, x_minga_exercise=ref, inject=d.inject, org_id=d.org_id, kind=d.kind,
        subject=d.subject, body=d.body, at=d.at, minute=d.ex_minute, incident_id=d.incident_id,
        stix_id=d.stix_id, acknowledged_at=d.acknowledged_at, answer=d.answer, emailed=d.emailed,
    )  # fmt: skip


def action_out(a: ImprovementAction) -> ActionOut:
    return ActionOut(**{k: getattr(a, k) for k in ActionOut.model_fields})


# Fixed paths first: /api/exercises/{exercise_id} would otherwise take "actions" as an id.
@router.get("/api/exercises/actions", response_model=list[ActionOut])
def org_actions(
    session: SessionDep,
    principal: CurrentPrincipal,
    org: Annotated[DbId | None, Query(description="organisation (default: yours)")] = None,
) -> list[ActionOut]:
    """Improvement actions assigned to an organisation by exercises, open ones first."""
    found = improve.actions_for_org(session, principal, org or principal.org_id)
    return [action_out(a) for a in found]


@router.patch("/api/exercises/actions/{action_id}", response_model=ActionOut)
def update_action(
    action_id: DbId, body: ActionPatch, request: Request, session: SessionDep,
    principal: CurrentPrincipal,
) -> ActionOut:  # fmt: skip
    """Track an improvement action: open → in-progress → done."""
    a = improve.set_action_status(session, principal, action_id, body.status, at=_now(request))
    out = action_out(a)
    session.commit()
    return out


@router.get("/api/exercises/{exercise_id}/inbox", response_model=list[DeliveryOut])
def inbox(
    exercise_id: DbId, request: Request, response: Response, session: SessionDep,
    node: NodeDep, principal: CurrentPrincipal,
) -> list[DeliveryOut]:  # fmt: skip
    """The injects delivered to your team (staff: all, with the facilitator's scripts)."""
    ex = service.get_exercise(session, principal, exercise_id)
    ctx = run.RunContext(node.settings.incident_severities, mailer_for(node.settings))
    if run.tick(session, ex, _now(request), ctx):
        session.commit()
    response.headers[HEADER] = ex.ref
    return [delivery_out(d, ex.ref) for d in play.inbox(session, principal, ex)]


@router.post("/api/exercises/{exercise_id}/inbox/{delivery_id}/acknowledge",
             response_model=DeliveryOut)  # fmt: skip
def acknowledge(
    exercise_id: DbId, delivery_id: DbId, request: Request, response: Response,
    session: SessionDep, principal: CurrentPrincipal,
) -> DeliveryOut:  # fmt: skip
    d = play.acknowledge(session, principal, exercise_id, delivery_id, at=_now(request))
    ref = service.get_exercise(session, principal, exercise_id).ref
    out = delivery_out(d, ref)
    session.commit()
    response.headers[HEADER] = ref
    return out


@router.post("/api/exercises/{exercise_id}/inbox/{delivery_id}/answer",
             response_model=DeliveryOut)  # fmt: skip
def answer(
    exercise_id: DbId, delivery_id: DbId, body: AnswerIn, request: Request, response: Response,
    session: SessionDep, principal: CurrentPrincipal,
) -> DeliveryOut:  # fmt: skip
    """Answer a question inject (once)."""
    d = play.answer(session, principal, exercise_id, delivery_id, body.answer, at=_now(request))
    ref = service.get_exercise(session, principal, exercise_id).ref
    out = delivery_out(d, ref)
    session.commit()
    response.headers[HEADER] = ref
    return out


@router.get("/api/exercises/{exercise_id}/incidents", response_model=list[IncidentOut])
def exercise_incidents(
    exercise_id: DbId, response: Response, session: SessionDep, principal: CurrentPrincipal
) -> list[IncidentOut]:
    """The incidents of the exercise space you may see (never in `/api/incidents`)."""
    ex = service.get_exercise(session, principal, exercise_id)
    response.headers[HEADER] = ex.ref
    return [incident_out(session, i) for i in play.exercise_incidents(session, principal, ex)]


@router.post("/api/exercises/{exercise_id}/incidents", response_model=IncidentOut,
             status_code=201)  # fmt: skip
def open_incident(
    exercise_id: DbId, body: IncidentIn, request: Request, response: Response,
    session: SessionDep, node: NodeDep, principal: CurrentPrincipal,
) -> IncidentOut:  # fmt: skip
    """Open an incident in the exercise space; work on it with `/api/incidents/{id}/...`."""
    incident = play.open_incident(
        session, principal, exercise_id, incidents.IncidentIn(**body.model_dump()),
        severity_scale=node.settings.incident_severities, at=_now(request),
    )  # fmt: skip
    out = incident_out(session, incident)
    response.headers[HEADER] = str(incident.exercise)
    session.commit()
    return out


@router.get("/api/exercises/{exercise_id}/objects", response_model=ObjectsOut)
def exercise_objects(
    exercise_id: DbId, response: Response, session: SessionDep, principal: CurrentPrincipal
) -> ObjectsOut:
    """The STIX objects of the exercise space you may see (each marked `x_minga_exercise`)."""
    ex = service.get_exercise(session, principal, exercise_id)
    response.headers[HEADER] = ex.ref
    found = play.exercise_objects(session, principal, ex)
    return ObjectsOut(x_minga_exercise=ex.ref, objects=found)


@router.post("/api/exercises/{exercise_id}/objects", response_model=PublishedOut,
             status_code=201)  # fmt: skip
def publish(
    exercise_id: DbId, body: ObjectsIn, request: Request, response: Response,
    session: SessionDep, principal: CurrentPrincipal,
) -> PublishedOut:  # fmt: skip
    """Publish STIX objects in the exercise space (they never reach real lists or peers)."""
    ids = play.publish(session, principal, exercise_id, body.objects, at=_now(request))
    ref = service.get_exercise(session, principal, exercise_id).ref
    session.commit()
    response.headers[HEADER] = ref
    return PublishedOut(x_minga_exercise=ref, ids=ids)


@router.post("/api/exercises/{exercise_id}/lessons", status_code=204)
def lessons(
    exercise_id: DbId, body: LessonsIn, request: Request, session: SessionDep,
    principal: CurrentPrincipal,
) -> Response:  # fmt: skip
    """Your team's answers to the lessons-learned questionnaire (keys: the scenario's)."""
    improve.answer_lessons(session, principal, exercise_id, body.answers, at=_now(request))
    session.commit()
    return Response(status_code=204)


@router.get("/api/exercises/{exercise_id}/actions", response_model=list[ActionOut])
def exercise_actions(
    exercise_id: DbId, session: SessionDep, principal: CurrentPrincipal
) -> list[ActionOut]:
    ex = service.get_exercise(session, principal, exercise_id)
    staff = principal.user_id in service.marking(session, ex).staff
    return [action_out(a) for a in improve.actions_of(session, ex)
            if staff or a.org_id == principal.org_id]  # fmt: skip


@router.post("/api/exercises/{exercise_id}/actions", response_model=ActionOut, status_code=201)
def add_action(
    exercise_id: DbId, body: ActionIn, request: Request, session: SessionDep,
    principal: CurrentPrincipal,
) -> ActionOut:  # fmt: skip
    """Assign an improvement action to an organisation (the director)."""
    a = improve.add_action(session, principal, exercise_id, org_id=body.org_id, title=body.title,
                           detail=body.detail, due_on=body.due_on, at=_now(request))  # fmt: skip
    out = action_out(a)
    session.commit()
    return out


@router.get("/api/exercises/{exercise_id}/report", response_class=HTMLResponse)
def report(
    exercise_id: DbId, request: Request, session: SessionDep, principal: CurrentPrincipal,
    lang: Annotated[str, Query(pattern="^(es|pt|en)$")] = "en",
    format: Annotated[str, Query(pattern="^(html|pdf)$")] = "html",
) -> Response:  # fmt: skip
    """The after-action report, HTML or PDF, in es, pt or en."""
    from minga.exercises.report import report_html

    web = request.app.state.web
    i18n.activate(web.catalogs[lang])
    html = report_html(session, principal, exercise_id, web.env, lang, _now(request))
    ref = service.get_exercise(session, principal, exercise_id).ref
    if format == "html":
        return HTMLResponse(html, headers={HEADER: ref})
    from minga.reports.pdf import html_to_pdf

    name = f"exercise-{exercise_id}-{lang}.pdf"
    headers = {HEADER: ref, "Content-Disposition": f'attachment; filename="{name}"'}
    return Response(html_to_pdf(html), media_type="application/pdf", headers=headers)
