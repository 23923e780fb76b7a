"""Running exercises move on their own: `minga serve` delivers what is due and scores what the
teams did every `MINGA_EXERCISE_TICK_SECONDS`, so a timed inject (and its e-mail) goes out at
its minute even while nobody has the control room open. Looking at an exercise still ticks it
at once (`minga.exercises.run.tick`), so a page always shows the present."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from minga.background import Periodic
from minga.db import unit_of_work
from minga.exercises import run
from minga.exercises.mailing import mailer_for
from minga.exercises.models import Exercise
from minga.incidents.service import utcnow
from minga.settings import Settings

log = logging.getLogger("minga")


def tick_running(sessions: sessionmaker[Session], settings: Settings) -> int:
    """Tick every running exercise, each in its own transaction; the injects delivered."""
    with sessions() as session:
        running = list(session.scalars(select(Exercise.id).where(Exercise.status == "running")))
    ctx = run.RunContext(settings.incident_severities, mailer_for(settings))
    delivered = 0
    for exercise_id in running:
        try:
            with unit_of_work(sessions) as session:
                ex = session.get(Exercise, exercise_id)
                if ex is not None:
                    delivered += len(run.tick(session, ex, utcnow(), ctx))
        except Exception:  # one broken exercise must not stop the others
            log.exception("exercise %s: its injects could not be delivered", exercise_id)
    return delivered


def scheduler(sessions: sessionmaker[Session], settings: Settings) -> Periodic:
    return Periodic(
        "exercises", settings.exercise_tick_seconds, lambda: tick_running(sessions, settings)
    )
