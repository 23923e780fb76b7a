"""REST of drills: `/api/scenarios` (list, import, export) and `/api/exercises` (create, run,
status with scores, timeline, evaluators' decisions). What teams do is in `views_play.py`,
mounted through this router. Every answer about an exercise carries `X-Minga-Exercise`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, nullcontext
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, FastAPI, Request, Response
from sqlalchemy.orm import Session

from minga.api.deps import CurrentPrincipal, DbId, NodeDep, SessionDep
from minga.app import Node
from minga.errors import InvalidInput
from minga.exercises import play, run, service
from minga.exercises.clock import minute_now
from minga.exercises.mailing import mailer_for
from minga.exercises.models import Exercise, Outcome
from minga.exercises.scheduler import scheduler
from minga.exercises.schemas import (
    DecisionIn,
    EventOut,
    ExerciseIn,
    ExerciseOut,
    OutcomeOut,
    ScenarioOut,
    TeamScoreOut,
)
from minga.exercises.views_play import router as play_router
from minga.incidents.clock import now_from
from minga.policy import Principal


@asynccontextmanager
async def exercise_loop(app: FastAPI) -> AsyncIterator[None]:
    """While a one-process node serves, tick its running exercises in the background (with
    several workers, the supervising process does it: `minga.serve`)."""
    node = app.state.node
    on = node.settings.exercise_tick_seconds > 0
    with scheduler(node.sessions, node.settings) if on else nullcontext():
        yield


router = APIRouter(tags=["exercises"], lifespan=exercise_loop)
router.include_router(play_router)  # fixed paths (/api/exercises/actions) before /{id}
HEADER = "X-Minga-Exercise"


def now_of(request: Request) -> datetime:
    return now_from(request.app.state)


def ticked(
    session: Session, principal: Principal, node: Node, exercise_id: int, now: datetime
) -> Exercise:
    """The exercise, with what is due delivered (committed)."""
    ex = service.get_exercise(session, principal, exercise_id)
    ctx = run.RunContext(node.settings.incident_severities, mailer_for(node.settings))
    if run.tick(session, ex, now, ctx):
        session.commit()
    return ex


def exercise_out(session: Session, ex: Exercise, now: datetime) -> ExerciseOut:
    teams = [TeamScoreOut(**{k: getattr(t, k) for k in TeamScoreOut.model_fields})
             for t in play.scores(session, ex)]  # fmt: skip
    return ExerciseOut(
        id=ex.id, x_minga_exercise=ex.ref, name=ex.name, scenario_id=ex.scenario_id,
        lang=ex.lang, status=ex.status, speed=ex.speed, minute=round(minute_now(ex, now), 2),
        federated=ex.federated, started_at=ex.started_at, ended_at=ex.ended_at, teams=teams,
    )  # fmt: skip


def scenario_out(s: Any) -> ScenarioOut:
    return ScenarioOut(id=s.id, key=s.key, title=s.title, source=s.source,
                       injects=len(service.doc_of(s)["injects"]))  # fmt: skip


@router.get("/api/scenarios", response_model=list[ScenarioOut])
def list_scenarios(request: Request, session: SessionDep, _: CurrentPrincipal) -> list[ScenarioOut]:
    """Scenarios on this node: the shipped ones and those imported."""
    found = service.list_scenarios(session, now_of(request))
    session.commit()
    return [scenario_out(s) for s in found]


@router.post("/api/scenarios", response_model=ScenarioOut, status_code=201)
def import_scenario(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    doc: Annotated[dict[str, Any], Body(description="a scenario, format minga-scenario/1")],
) -> ScenarioOut:
    """Import a scenario (a hub's, shared as JSON); every problem is listed in `details`."""
    sc = service.import_scenario(session, principal, doc, now_of(request))
    session.commit()
    return scenario_out(sc)


@router.get("/api/scenarios/{scenario_ref}")
def export_scenario(scenario_ref: str, session: SessionDep, _: CurrentPrincipal) -> dict[str, Any]:
    """The scenario document (by id or key), to share or import elsewhere."""
    return service.doc_of(service.get_scenario(session, scenario_ref))


@router.get("/api/exercises", response_model=list[ExerciseOut])
def list_exercises(
    request: Request, session: SessionDep, principal: CurrentPrincipal
) -> list[ExerciseOut]:
    """Exercises your organisation plays in, or you direct or evaluate."""
    now = now_of(request)
    return [exercise_out(session, ex, now) for ex in service.list_exercises(session, principal)]


@router.post("/api/exercises", response_model=ExerciseOut, status_code=201)
def create_exercise(
    body: ExerciseIn, request: Request, response: Response, session: SessionDep,
    principal: CurrentPrincipal,
) -> ExerciseOut:  # fmt: skip
    """A run of a scenario, directed by you; start it with `/start`."""
    try:
        emails = {int(k): v for k, v in body.team_emails.items()}
    except ValueError:
        raise InvalidInput("team_emails maps organisation ids to addresses") from None
    sc = service.get_scenario(session, body.scenario)
    ex = service.create_exercise(
        session, principal, scenario_id=sc.id, name=body.name, lang=body.lang, speed=body.speed,
        team_org_ids=body.teams, evaluator_user_ids=body.evaluators, team_emails=emails,
        federated=body.federated, at=now_of(request),
    )  # fmt: skip
    out = exercise_out(session, ex, now_of(request))
    session.commit()
    response.headers[HEADER] = ex.ref
    return out


@router.get("/api/exercises/{exercise_id}", response_model=ExerciseOut)
def show_exercise(
    exercise_id: DbId, request: Request, response: Response, session: SessionDep,
    node: NodeDep, principal: CurrentPrincipal,
) -> ExerciseOut:  # fmt: skip
    """Status, clock and scores (what is due is delivered first)."""
    now = now_of(request)
    ex = ticked(session, principal, node, exercise_id, now)
    response.headers[HEADER] = ex.ref
    return exercise_out(session, ex, now)


@router.post("/api/exercises/{exercise_id}/{change}", response_model=ExerciseOut)
def change_state(
    exercise_id: DbId, change: str, request: Request, response: Response, session: SessionDep,
    node: NodeDep, principal: CurrentPrincipal,
) -> ExerciseOut:  # fmt: skip
    """start, pause, resume or end (the director)."""
    now = now_of(request)
    ctx = run.RunContext(node.settings.incident_severities, mailer_for(node.settings))
    ex = run.change(session, principal, exercise_id, change, now, ctx)
    out = exercise_out(session, ex, now)
    session.commit()
    response.headers[HEADER] = ex.ref
    return out


@router.get("/api/exercises/{exercise_id}/timeline", response_model=list[EventOut])
def timeline(
    exercise_id: DbId, response: Response, session: SessionDep, principal: CurrentPrincipal
) -> list[EventOut]:
    """What happened, in order (staff: everything; a team: its own and the exercise's)."""
    ex = service.get_exercise(session, principal, exercise_id)
    staff = principal.user_id in service.marking(session, ex).staff
    response.headers[HEADER] = ex.ref
    return [
        EventOut(at=e.at, minute=e.ex_minute, org_id=e.org_id, kind=e.kind, text=e.text)
        for e in service.timeline(session, ex)
        if staff or e.org_id in (None, principal.org_id)
    ]


@router.get("/api/exercises/{exercise_id}/outcomes", response_model=list[OutcomeOut])
def outcomes(
    exercise_id: DbId, response: Response, session: SessionDep, principal: CurrentPrincipal
) -> list[OutcomeOut]:
    """Every expectation of every team (staff) or of your team."""
    ex = service.get_exercise(session, principal, exercise_id)
    staff = principal.user_id in service.marking(session, ex).staff
    response.headers[HEADER] = ex.ref
    return [outcome_out(o) for t in play.scores(session, ex) for o in t.outcomes
            if staff or o.org_id == principal.org_id]  # fmt: skip


def outcome_out(o: Outcome) -> OutcomeOut:
    return OutcomeOut(**{k: getattr(o, k) for k in OutcomeOut.model_fields})


@router.post("/api/exercises/{exercise_id}/outcomes/{outcome_id}", response_model=OutcomeOut)
def decide(
    exercise_id: DbId, outcome_id: DbId, body: DecisionIn, request: Request, response: Response,
    session: SessionDep, principal: CurrentPrincipal,
) -> OutcomeOut:  # fmt: skip
    """An evaluator scores an expectation (overriding the platform's decision)."""
    o = play.decide(session, principal, exercise_id, outcome_id, body.status, points=body.points,
                    note=body.note, at=now_of(request))  # fmt: skip
    out = outcome_out(o)
    session.commit()
    response.headers[HEADER] = service.get_exercise(session, principal, exercise_id).ref
    return out
