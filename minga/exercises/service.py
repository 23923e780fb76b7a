"""Scenarios and exercises: import, list, create a run with its teams and staff, start, pause,
resume, end, the timeline. Who may see or direct an exercise is `minga.policy`'s answer
(`may_see_exercise`, `may_direct_exercise`, ...) over the exercise's `marking`."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from minga import audit
from minga.accounts.models import Organisation, User
from minga.errors import Conflict, Forbidden, InvalidInput, NotFound
from minga.exercises import scenario as fmt
from minga.exercises.clock import MAX_SPEED, MIN_SPEED, minute_now
from minga.exercises.models import Event, Exercise, Scenario, Staff, Team
from minga.policy import (
    EXERCISE_DIRECTOR,
    EXERCISE_EVALUATOR,
    ExerciseMarking,
    Principal,
    may_create_exercise,
    may_direct_exercise,
    may_evaluate_exercise,
    may_see_exercise,
)

# -- scenarios ----------------------------------------------------------------------------


def ensure_shipped(session: Session, at: datetime) -> None:
    """The scenarios shipped with Minga, stored on first use."""
    have = set(session.scalars(select(Scenario.key).where(Scenario.key.in_(fmt.SHIPPED))))
    for key in fmt.SHIPPED:
        if key not in have:
            doc = fmt.shipped(key)
            session.add(_row(doc, "shipped", at))
    session.flush()


def _row(doc: dict[str, Any], source: str, at: datetime) -> Scenario:
    return Scenario(
        key=doc["key"],
        title=fmt.text(doc["title"], "en")[:300],
        doc=orjson.dumps(doc).decode(),
        source=source,
        created_at=at,
    )


def list_scenarios(session: Session, at: datetime) -> list[Scenario]:
    ensure_shipped(session, at)
    return list(session.scalars(select(Scenario).order_by(Scenario.title)))


def get_scenario(session: Session, scenario_ref: int | str) -> Scenario:
    if isinstance(scenario_ref, int) or str(scenario_ref).isdigit():
        found = session.get(Scenario, int(scenario_ref))
    else:
        found = session.scalar(select(Scenario).where(Scenario.key == scenario_ref))
    if found is None:
        raise NotFound(f"no scenario {scenario_ref}")
    return found


def doc_of(s: Scenario) -> dict[str, Any]:
    doc: dict[str, Any] = orjson.loads(s.doc)
    return doc


def import_scenario(
    session: Session, principal: Principal, data: bytes | str | dict[str, Any], at: datetime
) -> Scenario:
    """Validate and store a scenario (JSON); a key already stored is a conflict."""
    if not may_create_exercise(principal):
        raise Forbidden("only coordinators and admins import scenarios")
    doc = fmt.validate(data) if isinstance(data, dict) else fmt.parse(data)
    ensure_shipped(session, at)
    if session.scalar(select(Scenario.id).where(Scenario.key == doc["key"])) is not None:
        raise Conflict(f"a scenario with key {doc['key']!r} is already stored")
    row = _row(doc, "imported", at)
    session.add(row)
    session.flush()
    audit.record(session, principal, "scenario.import", "scenario", row.id)
    return row


# -- exercises ----------------------------------------------------------------------------


def marking(session: Session, ex: Exercise) -> ExerciseMarking:
    teams = frozenset(session.scalars(select(Team.org_id).where(Team.exercise_id == ex.id)))
    staff = {
        s.user_id: s.role for s in session.scalars(select(Staff).where(Staff.exercise_id == ex.id))
    }
    return ExerciseMarking(teams, staff)


def get_exercise(session: Session, principal: Principal, exercise_id: int) -> Exercise:
    ex = session.get(Exercise, exercise_id)
    # Hidden and unknown get the same answer.
    if ex is None or not may_see_exercise(principal, marking(session, ex)):
        raise NotFound(f"no exercise {exercise_id} that you may see")
    return ex


def directed(session: Session, principal: Principal, exercise_id: int) -> Exercise:
    ex = get_exercise(session, principal, exercise_id)
    if not may_direct_exercise(principal, marking(session, ex)):
        raise Forbidden("only the exercise's director may do this")
    return ex


def evaluated(session: Session, principal: Principal, exercise_id: int) -> Exercise:
    ex = get_exercise(session, principal, exercise_id)
    if not may_evaluate_exercise(principal, marking(session, ex)):
        raise Forbidden("only the exercise's director and evaluators may do this")
    return ex


def list_exercises(session: Session, principal: Principal) -> list[Exercise]:
    if principal.remote:
        return []
    mine = select(Team.exercise_id).where(Team.org_id == principal.org_id)
    staffed = select(Staff.exercise_id).where(Staff.user_id == principal.user_id)
    stmt = select(Exercise).where(Exercise.id.in_(mine) | Exercise.id.in_(staffed))
    return list(session.scalars(stmt.order_by(Exercise.created_at.desc(), Exercise.id.desc())))


def event(
    session: Session, ex: Exercise, kind: str, text: str, at: datetime, org_id: int | None = None
) -> None:
    session.add(
        Event(exercise_id=ex.id, at=at, ex_minute=round(minute_now(ex, at), 3), org_id=org_id,
              kind=kind, text=text[:2000])
    )  # fmt: skip


def create_exercise(
    session: Session,
    principal: Principal,
    *,
    scenario_id: int,
    name: str,
    lang: str,
    speed: float,
    team_org_ids: Sequence[int],
    evaluator_user_ids: Sequence[int] = (),
    team_emails: dict[int, str] | None = None,
    federated: bool = False,
    at: datetime,
) -> Exercise:
    """A run of a scenario; its creator directs it."""
    if not may_create_exercise(principal):
        raise Forbidden("only coordinators and admins run exercises")
    sc = get_scenario(session, scenario_id)
    name = name.strip()
    if not 0 < len(name) <= 300:
        raise InvalidInput("an exercise needs a name of 1 to 300 characters")
    if lang not in fmt.LANGS:
        raise InvalidInput(f"lang is one of {', '.join(fmt.LANGS)}")
    if not MIN_SPEED <= speed <= MAX_SPEED:
        raise InvalidInput(f"speed is {MIN_SPEED} to {MAX_SPEED} times real time")
    teams = sorted(set(team_org_ids))
    if not teams:
        raise InvalidInput("an exercise needs at least one team (an organisation)")
    local = select(Organisation.id).where(
        Organisation.id.in_(teams), Organisation.remote_node.is_(None)
    )
    found = set(session.scalars(local))
    missing = [t for t in teams if t not in found]
    if missing:
        raise InvalidInput(f"no organisation {missing[0]} on this node")
    evaluators = sorted(set(evaluator_user_ids) - {principal.user_id})
    users = set(session.scalars(select(User.id).where(User.id.in_(evaluators))))
    if set(evaluators) - users:
        raise InvalidInput(f"no user {sorted(set(evaluators) - users)[0]}")
    emails = team_emails or {}
    bad = [e for e in emails.values() if e and ("@" not in e or len(e) > 254)]
    if bad:
        raise InvalidInput(f"{bad[0]!r} is not an e-mail address")
    ex = Exercise(
        ref=f"exercise--{uuid.uuid4()}", scenario_id=sc.id, name=name, lang=lang,
        status="planned", speed=speed, elapsed_s=0.0, federated=federated,
        director_org_id=principal.org_id, created_by=principal.user_id, created_at=at,
    )  # fmt: skip
    session.add(ex)
    session.flush()
    for org_id in teams:
        session.add(Team(exercise_id=ex.id, org_id=org_id, email=emails.get(org_id, "")))
    session.add(Staff(exercise_id=ex.id, user_id=principal.user_id, role=EXERCISE_DIRECTOR))
    for uid in evaluators:
        session.add(Staff(exercise_id=ex.id, user_id=uid, role=EXERCISE_EVALUATOR))
    event(session, ex, "created", f"exercise created from scenario {sc.key}", at)
    audit.record(session, principal, "exercise.create", "exercise", ex.id)
    session.flush()
    return ex


TRANSITIONS = {
    "start": ("planned",),
    "pause": ("running",),
    "resume": ("paused",),
    "end": ("running", "paused"),
}


def change_state(
    session: Session, principal: Principal, exercise_id: int, what: str, *, at: datetime
) -> Exercise:
    """start, pause, resume or end the exercise (its director)."""
    if what not in TRANSITIONS:
        raise InvalidInput(f"unknown change {what!r}: one of {', '.join(TRANSITIONS)}")
    ex = directed(session, principal, exercise_id)
    if ex.status not in TRANSITIONS[what]:
        raise Conflict(f"an exercise that is {ex.status} cannot {what}")
    if what in ("pause", "end") and ex.running_since is not None:
        ex.elapsed_s = minute_now(ex, at) * 60
        ex.running_since = None
    if what in ("start", "resume"):
        ex.running_since = at
    if what == "start":
        ex.started_at = at
    if what == "end":
        ex.ended_at = at
    ex.status = {"start": "running", "pause": "paused", "resume": "running", "end": "ended"}[what]
    event(session, ex, what, f"exercise {ex.status}", at)
    audit.record(session, principal, f"exercise.{what}", "exercise", ex.id)
    return ex


def timeline(session: Session, ex: Exercise) -> list[Event]:
    stmt = select(Event).where(Event.exercise_id == ex.id)
    return list(session.scalars(stmt.order_by(Event.at, Event.id)))


def teams_of(session: Session, ex: Exercise) -> list[Team]:
    return list(
        session.scalars(select(Team).where(Team.exercise_id == ex.id).order_by(Team.org_id))
    )
