"""Running an exercise: each tick delivers the injects that are due (by offset, or by what a
team did or did not do after an earlier inject) and scores what can be scored. Ticks happen
whenever the exercise is looked at (control room, team inbox, REST, CLI status), so a drill
needs no scheduler; a tick is idempotent.

Deliveries land in the exercise space only: an incident opens held by the team and tagged with
the exercise, a STIX object is stored marked `x_minga_exercise`, everything else is an inbox
item; a phone-call script goes to the staff alone."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from minga.accounts import service as accounts
from minga.accounts.models import User
from minga.exercises import scenario as fmt
from minga.exercises.clock import minute_now
from minga.exercises.models import Delivery, Exercise, Outcome, Team
from minga.exercises.observe import Observer, score
from minga.exercises.service import doc_of, event, get_scenario
from minga.incidents import service as incidents
from minga.intel import service as intel
from minga.intel.stix import format_ts
from minga.mail import MailError
from minga.policy import EXERCISE_FEDERATED, EXERCISE_PROPERTY, Principal, Reach, Tlp

log = logging.getLogger(__name__)
# Sends an e-mail inject: (to, subject, text). None: the node sends no mail.
Mailer = Callable[[list[str], str, str], None]


@dataclass
class RunContext:
    severity_scale: str
    mailer: Mailer | None = None


def director_principal(session: Session, ex: Exercise) -> Principal:
    user = session.get(User, ex.created_by) if ex.created_by else None
    if user is None:
        raise LookupError(f"exercise {ex.id} has no director account")
    return accounts.principal_for(session, user)


def _due(
    inj: dict[str, Any],
    team: int | None,
    minute: float,
    got: dict[tuple[str, int | None], Delivery],
    obs: Observer,
) -> bool:
    if "at_minutes" in inj:
        return bool(inj["at_minutes"] <= minute)
    when = inj["when"]
    prior = got.get((when["after"], team))
    if prior is None or team is None:
        return False
    at_minute = prior.ex_minute + float(when.get("minutes", 0))
    if at_minute > minute:
        return False
    for cond, wanted in (("if", True), ("unless", False)):
        if cond in when:
            seen = obs.first(when[cond], prior, None)
            done = seen is not None and seen <= at_minute
            return done is wanted
    return True


def tick(session: Session, ex: Exercise, now: datetime, ctx: RunContext) -> list[Delivery]:
    """Deliver what is due and score; returns the new deliveries. Only a running exercise."""
    if ex.status != "running":
        return []
    doc = doc_of(get_scenario(session, ex.scenario_id))
    injects = fmt.inject_map(doc)
    obs = Observer(session, ex, injects)
    minute = minute_now(ex, now)
    teams = list(
        session.scalars(select(Team).where(Team.exercise_id == ex.id).order_by(Team.org_id))
    )
    stmt = select(Delivery).where(Delivery.exercise_id == ex.id)
    got = {(d.inject, d.org_id): d for d in session.scalars(stmt)}
    new: list[Delivery] = []
    # Offsets first, in scenario order; conditional injects see this tick's deliveries.
    for inj in doc["injects"]:
        targets: list[Team | None] = [None] if inj["kind"] == "phone" else list(teams)
        for team in targets:
            org_id = team.org_id if team is not None else None
            if (inj["key"], org_id) in got or not _due(inj, org_id, minute, got, obs):
                continue
            d = deliver(session, ex, inj, team, now, ctx)
            got[(inj["key"], org_id)] = d
            new.append(d)
    _scored(session, ex, score(obs, now), now)
    return new


def _scored(session: Session, ex: Exercise, decided: list[Outcome], now: datetime) -> None:
    """What the platform decided goes on the timeline: what each team did (or did not)."""
    for o in decided:
        event(session, ex, "scored", f"{o.inject}/{o.expectation} ({o.kind}): {o.status}", now,
              o.org_id)  # fmt: skip


def _intel_object(session: Session, ex: Exercise, inj: dict[str, Any], now: datetime) -> str:
    """The inject's STIX object, stored once per exercise (every team gets the same id)."""
    from minga.intel.models import objects

    otype = inj["stix"]["type"]
    stix_id = f"{otype}--{uuid.uuid5(uuid.NAMESPACE_URL, ex.ref + '/' + inj['key'])}"
    if session.scalar(select(objects.c.pk).where(objects.c.stix_id == stix_id).limit(1)):
        return stix_id
    stamp = format_ts(now)
    obj = {**inj["stix"], "id": stix_id, "spec_version": "2.1", "created": stamp,
           "modified": stamp, EXERCISE_PROPERTY: ex.ref}  # fmt: skip
    if otype == "indicator":
        obj.setdefault("valid_from", stamp)
    if ex.federated:
        obj[EXERCISE_FEDERATED] = True
    intel.create_objects(
        session, director_principal(session, ex), [obj], tlp=Tlp.AMBER,
        reach=Reach.FEDERATION if ex.federated else Reach.ORGANISATION,
    )  # fmt: skip
    return stix_id


def deliver(
    session: Session,
    ex: Exercise,
    inj: dict[str, Any],
    team: Team | None,
    now: datetime,
    ctx: RunContext,
) -> Delivery:
    subject = fmt.text(inj["title"], ex.lang)[:300]
    body = fmt.text(inj["body"], ex.lang)
    d = Delivery(exercise_id=ex.id, inject=inj["key"], org_id=team.org_id if team else None,
                 kind=inj["kind"], subject=subject, body=body, at=now,
                 ex_minute=round(minute_now(ex, now), 3), emailed=False)  # fmt: skip
    if inj["kind"] == "incident" and team is not None:
        spec = inj["incident"]
        data = incidents.IncidentIn(
            title=f"[EXERCISE] {subject}"[:300], description=body,
            classification=spec["classification"], severity=spec["severity"],
            tlp=spec.get("tlp", "amber"), reporter_org_id=ex.director_org_id,
        )  # fmt: skip
        incident = incidents.create_incident(
            session, director_principal(session, ex), data, severity_scale=ctx.severity_scale,
            at=now, holder_org_id=team.org_id,
        )  # fmt: skip
        incident.exercise = ex.ref
        d.incident_id = incident.id
    if inj["kind"] == "intel":
        d.stix_id = _intel_object(session, ex, inj, now)
    if inj["kind"] == "email" and team is not None and team.email and ctx.mailer is not None:
        note = f"EXERCISE {ex.ref}: {ex.name}. Not a real incident.\n\n"
        try:
            ctx.mailer([team.email], f"[EXERCISE] {subject}", note + body)
            d.emailed = True
        except MailError as exc:  # the inbox has it anyway; the director sees it was not sent
            log.warning("exercise %s: e-mail inject %s not sent: %s", ex.id, inj["key"], exc)
    session.add(d)
    session.flush()
    for e in inj.get("expectations", []) if team is not None else []:
        assert team is not None
        within = e.get("within_minutes")
        session.add(Outcome(
            exercise_id=ex.id, delivery_id=d.id, org_id=team.org_id, inject=inj["key"],
            expectation=e["key"], kind=e["kind"], max_points=e["points"], points=0,
            due_minute=None if within is None else d.ex_minute + float(within),
            status="pending", decided_by="", note="",
        ))  # fmt: skip
    event(session, ex, "delivered", f"{inj['key']} ({inj['kind']}): {subject}", now,
          team.org_id if team else None)  # fmt: skip
    return d


def finish(session: Session, ex: Exercise, now: datetime) -> None:
    """After the end: what the platform did not observe is missed."""
    doc = doc_of(get_scenario(session, ex.scenario_id))
    _scored(session, ex, score(Observer(session, ex, fmt.inject_map(doc)), now, final=True), now)


def change(
    session: Session, principal: Principal, exercise_id: int, what: str, now: datetime,
    ctx: RunContext,
) -> Exercise:  # fmt: skip
    """start, pause, resume or end: what was due before the change is delivered first; after
    the end, what was not observed is missed."""
    from minga.exercises.service import change_state, directed

    tick(session, directed(session, principal, exercise_id), now, ctx)
    ex = change_state(session, principal, exercise_id, what, at=now)
    if what == "end":
        finish(session, ex, now)
    else:
        tick(session, ex, now, ctx)
    return ex
