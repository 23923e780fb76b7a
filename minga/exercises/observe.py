"""What the platform observes a team doing in the exercise space, and the expectations scored
from it: acknowledged, answered, opened an incident, escalated one, published an indicator.
Times are exercise minutes (`clock.minute_at`), so a pause does not count against a team."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from minga.exercises.clock import CLOCK_EVENTS, minute_at, minute_now
from minga.exercises.models import Delivery, Event, Exercise, Outcome
from minga.exercises.scenario import OBSERVED
from minga.incidents.models import Escalation, Incident
from minga.incidents.service import aware
from minga.intel.models import objects


def normalise(answer: str) -> str:
    return " ".join(answer.lower().split())


def is_correct(inject: dict[str, Any], answer: str) -> bool:
    return normalise(answer) in {normalise(a) for a in inject.get("expected", [])}


@dataclass
class Observer:
    """Observations of one exercise, read once per tick."""

    session: Session
    ex: Exercise
    injects: dict[str, dict[str, Any]]

    def __post_init__(self) -> None:
        stmt = select(Event).where(Event.exercise_id == self.ex.id, Event.kind.in_(CLOCK_EVENTS))
        self.clock = list(self.session.scalars(stmt.order_by(Event.at, Event.id)))
        self.delivered_incidents = set(
            self.session.scalars(
                select(Delivery.incident_id).where(
                    Delivery.exercise_id == self.ex.id, Delivery.incident_id.is_not(None)
                )
            )
        )

    def minute(self, at: datetime | None) -> float | None:
        value = aware(at)
        return None if value is None else minute_at(self.ex, self.clock, value)

    def first(self, kind: str, d: Delivery, expectation: dict[str, Any] | None) -> float | None:
        """The exercise minute `d`'s team first did `kind` after `d` arrived, or None."""
        since = aware(d.at)
        assert since is not None and d.org_id is not None
        if kind == "acknowledge":
            return self.minute(d.acknowledged_at)
        if kind == "answer":
            if d.answer is None or not is_correct(self.injects.get(d.inject, {}), d.answer):
                return None
            return self.minute(d.answered_at)
        if kind == "open-incident":
            stmt = select(Incident.created_at).where(
                Incident.exercise == self.ex.ref, Incident.org_id == d.org_id,
                Incident.created_at >= since,
            )  # fmt: skip
            if self.delivered_incidents:
                stmt = stmt.where(Incident.id.not_in(sorted(self.delivered_incidents)))
            return self.minute(self.session.scalar(stmt.order_by(Incident.created_at).limit(1)))
        if kind == "escalate":
            stmt = (
                select(Escalation.sent_at)
                .join(Incident, Incident.id == Escalation.from_incident_id)
                .where(Incident.exercise == self.ex.ref, Escalation.from_org_id == d.org_id,
                       Escalation.sent_at >= since)
                .order_by(Escalation.sent_at).limit(1)
            )  # fmt: skip
            return self.minute(self.session.scalar(stmt))
        if kind == "publish-indicator":
            return self._published(d, since, (expectation or {}).get("value"))
        raise ValueError(kind)

    def _published(self, d: Delivery, since: datetime, value: str | None) -> float | None:
        """An indicator the team published in the exercise space (recorded as a `published`
        event naming its id) that is stored there, with `value` in its pattern if given."""
        done = self.session.execute(
            select(Event.at, Event.text).where(
                Event.exercise_id == self.ex.id, Event.kind == "published",
                Event.org_id == d.org_id, Event.at >= since,
            ).order_by(Event.at)
        ).all()  # fmt: skip
        for at, stix_id in done:
            raw = self.session.scalar(
                select(objects.c.raw).where(
                    objects.c.stix_id == stix_id, objects.c.exercise == self.ex.ref,
                    objects.c.owner_org_id == d.org_id, objects.c.type == "indicator",
                ).limit(1)
            )  # fmt: skip
            if raw is None:
                continue
            pattern = str(orjson.loads(raw).get("pattern", ""))
            if value is None or value.lower() in pattern.lower():
                return self.minute(at)
        return None


def score(obs: Observer, now: datetime, *, final: bool = False) -> list[Outcome]:
    """Decide the pending observed expectations that can be decided now; `final` (the
    exercise ended): what was not observed is missed. Returns the outcomes decided."""
    stmt = (
        select(Outcome, Delivery)
        .join(Delivery, Delivery.id == Outcome.delivery_id)
        .where(
            Outcome.exercise_id == obs.ex.id,
            Outcome.status == "pending",
            Outcome.kind.in_(OBSERVED),
        )
    )
    current = minute_now(obs.ex, now)
    decided = []
    for outcome, d in obs.session.execute(stmt).all():
        inject = obs.injects.get(outcome.inject, {})
        spec = next((e for e in inject.get("expectations", [])
                     if e.get("key") == outcome.expectation), None)  # fmt: skip
        seen = obs.first(outcome.kind, d, spec)
        due = outcome.due_minute
        if seen is not None and (due is None or seen <= due + 1e-9):
            outcome.status, outcome.points = "met", outcome.max_points
        elif outcome.kind == "answer" and d.answer is not None:
            outcome.status = "missed"  # one answer per question
        elif final or (due is not None and current > due):
            outcome.status = "missed"
        else:
            continue
        outcome.decided_by, outcome.decided_at = "auto", now
        decided.append(outcome)
    return decided
