"""What teams do in the exercise space (acknowledge, answer, open incidents, publish) and what
evaluators decide; what each sees of it. Authority and visibility: `minga.policy`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from minga import audit
from minga.errors import Conflict, Forbidden, InvalidInput, NotFound
from minga.exercises.models import Delivery, Exercise, Outcome, Team
from minga.exercises.service import evaluated, event, get_exercise, marking, teams_of
from minga.incidents import service as incidents
from minga.incidents.models import Incident
from minga.intel import service as intel
from minga.intel.models import objects
from minga.policy import (
    EXERCISE_FEDERATED,
    EXERCISE_PROPERTY,
    Principal,
    Reach,
    may_play_exercise,
    may_see_delivery,
    may_see_incident,
)


def _playing(session: Session, principal: Principal, exercise_id: int) -> Exercise:
    ex = get_exercise(session, principal, exercise_id)
    if not may_play_exercise(principal, marking(session, ex)):
        raise Forbidden("only the analysts, coordinators and admins of a team play")
    if ex.status != "running":
        raise Conflict(f"the exercise is {ex.status}: teams act while it runs")
    return ex


def inbox(session: Session, principal: Principal, ex: Exercise) -> list[Delivery]:
    """The deliveries the caller may see, newest first (a team: its own; staff: all)."""
    m = marking(session, ex)
    stmt = select(Delivery).where(Delivery.exercise_id == ex.id)
    found = session.scalars(stmt.order_by(Delivery.at.desc(), Delivery.id.desc()))
    return [d for d in found if may_see_delivery(principal, m, d.org_id)]


def _delivery(session: Session, principal: Principal, ex: Exercise, delivery_id: int) -> Delivery:
    d = session.get(Delivery, delivery_id)
    if d is None or d.exercise_id != ex.id or d.org_id != principal.org_id:
        raise NotFound(f"no inject {delivery_id} delivered to your team")
    return d


def acknowledge(
    session: Session, principal: Principal, exercise_id: int, delivery_id: int, *, at: datetime
) -> Delivery:
    ex = _playing(session, principal, exercise_id)
    d = _delivery(session, principal, ex, delivery_id)
    if d.acknowledged_at is None:
        d.acknowledged_at = at
        event(session, ex, "acknowledged", f"{d.inject}: {d.subject}", at, principal.org_id)
    return d


def answer(
    session: Session, principal: Principal, exercise_id: int, delivery_id: int, text: str,
    *, at: datetime,
) -> Delivery:  # fmt: skip
    """A team's one answer to a question inject."""
    ex = _playing(session, principal, exercise_id)
    d = _delivery(session, principal, ex, delivery_id)
    if d.kind != "question":
        raise InvalidInput(f"inject {delivery_id} is not a question")
    if d.answer is not None:
        raise Conflict("this question was already answered")
    text = text.strip()
    if not 0 < len(text) <= 2000:
        raise InvalidInput("an answer is 1 to 2000 characters")
    d.answer, d.answered_at = text, at
    d.acknowledged_at = d.acknowledged_at or at
    event(session, ex, "answered", f"{d.inject}: {text[:200]}", at, principal.org_id)
    return d


def open_incident(
    session: Session, principal: Principal, exercise_id: int, data: incidents.IncidentIn,
    *, severity_scale: str, at: datetime,
) -> Incident:  # fmt: skip
    """An incident the team opens in the exercise space (tagged, never in real lists)."""
    ex = _playing(session, principal, exercise_id)
    data.title = data.title if data.title.startswith("[EXERCISE]") else f"[EXERCISE] {data.title}"
    incident = incidents.create_incident(
        session, principal, data, severity_scale=severity_scale, at=at
    )
    incident.exercise = ex.ref
    event(
        session,
        ex,
        "incident",
        f"opened incident #{incident.id}: {data.title}",
        at,
        principal.org_id,
    )
    return incident


def publish(
    session: Session, principal: Principal, exercise_id: int, items: list[dict[str, Any]],
    *, at: datetime,
) -> list[str]:  # fmt: skip
    """STIX objects the team publishes in the exercise space, marked with the exercise."""
    ex = _playing(session, principal, exercise_id)
    if not items or not all(isinstance(i, dict) for i in items):
        raise InvalidInput("publish a list of STIX objects")
    marked = []
    for item in items:
        obj = {**item, EXERCISE_PROPERTY: ex.ref}
        if ex.federated:
            obj[EXERCISE_FEDERATED] = True
        marked.append(obj)
    reach = Reach.FEDERATION if ex.federated else Reach.ORGANISATION
    result = intel.create_objects(session, principal, marked, reach=reach)
    ids = [sid for sid, _ in result.created]
    for sid in ids:
        event(session, ex, "published", sid, at, principal.org_id)
    return ids


def exercise_objects(session: Session, principal: Principal, ex: Exercise) -> list[dict[str, Any]]:
    """The exercise's STIX objects the caller may see: staff all; a team what it published and
    what was delivered to it."""
    m = marking(session, ex)
    stmt = select(objects.c.raw, objects.c.owner_org_id, objects.c.stix_id).where(
        objects.c.exercise == ex.ref, objects.c.is_latest
    )
    delivered = {d.stix_id for d in inbox(session, principal, ex) if d.stix_id}
    staff = principal.user_id in m.staff
    return [
        orjson.loads(raw)
        for raw, owner, sid in session.execute(stmt.order_by(objects.c.pk)).all()
        if staff or owner == principal.org_id or sid in delivered
    ]


def exercise_incidents(session: Session, principal: Principal, ex: Exercise) -> list[Incident]:
    """The exercise's incidents the caller may see: staff all; a team those it may see."""
    m = marking(session, ex)
    found = session.scalars(
        select(Incident).where(Incident.exercise == ex.ref).order_by(Incident.id)
    )
    staff = principal.user_id in m.staff
    return [i for i in found
            if staff or may_see_incident(principal, incidents.marking_of(session, i))]  # fmt: skip


def decide(
    session: Session, principal: Principal, exercise_id: int, outcome_id: int, status: str,
    *, points: int | None = None, note: str = "", at: datetime,
) -> Outcome:  # fmt: skip
    """An evaluator's decision on an expectation (any kind: it overrides the automatic one)."""
    ex = evaluated(session, principal, exercise_id)
    o = session.get(Outcome, outcome_id)
    if o is None or o.exercise_id != ex.id:
        raise NotFound(f"no expectation {outcome_id} in exercise {ex.id}")
    if status not in ("met", "missed", "pending"):
        raise InvalidInput("status is met, missed or pending")
    given = o.max_points if status == "met" else 0
    if points is not None:
        if not 0 <= points <= o.max_points:
            raise InvalidInput(f"points are 0 to {o.max_points}")
        given = points
    o.status, o.points, o.note = status, given, note.strip()[:2000]
    o.decided_by, o.decided_at = "evaluator", at
    event(session, ex, "scored", f"{o.inject}/{o.expectation}: {status} ({given}/{o.max_points})",
          at, o.org_id)  # fmt: skip
    audit.record(session, principal, "exercise.score", "exercise", ex.id, outcome=o.id)
    return o


@dataclass
class TeamScore:
    org_id: int
    name: str
    points: int
    max_points: int
    met: int
    missed: int
    pending: int
    outcomes: list[Outcome]


def scores(session: Session, ex: Exercise) -> list[TeamScore]:
    names = incidents.org_names(session, [t.org_id for t in teams_of(session, ex)])
    stmt = select(Outcome).where(Outcome.exercise_id == ex.id).order_by(Outcome.id)
    rows = list(session.scalars(stmt))
    out = []
    for team in teams_of(session, ex):
        mine = [o for o in rows if o.org_id == team.org_id]
        out.append(TeamScore(
            team.org_id, names.get(team.org_id, ""), sum(o.points for o in mine),
            sum(o.max_points for o in mine), sum(o.status == "met" for o in mine),
            sum(o.status == "missed" for o in mine), sum(o.status == "pending" for o in mine), mine,
        ))  # fmt: skip
    return sorted(out, key=lambda s: (-s.points, s.name))


def team_rows(session: Session, ex: Exercise) -> list[Team]:
    return teams_of(session, ex)
