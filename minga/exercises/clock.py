"""The exercise clock: exercise minutes run at `speed` times real time while the exercise runs
and stand still while it is paused. Tests and fast drills use a large speed (60: an exercise
hour per real minute) and pin the real clock (`app.state.incident_clock`)."""

from __future__ import annotations

from datetime import datetime

from minga.exercises.models import Event, Exercise
from minga.incidents.service import aware

MIN_SPEED, MAX_SPEED = 0.1, 600.0
# Timeline events that change how the clock runs.
CLOCK_EVENTS = ("start", "pause", "resume", "end")


def minute_now(ex: Exercise, now: datetime) -> float:
    """The exercise minute at real time `now`."""
    seconds = ex.elapsed_s
    since = aware(ex.running_since)
    if since is not None and now > since:
        seconds += (now - since).total_seconds() * ex.speed
    return seconds / 60


def minute_at(ex: Exercise, clock_events: list[Event], at: datetime) -> float:
    """The exercise minute at real time `at` (in the past), from the start/pause/resume
    events: the clock is piecewise linear between them."""
    last: Event | None = None
    for e in clock_events:
        if aware(e.at) is not None and aware(e.at) <= at:  # type: ignore[operator]
            last = e
    if last is None:
        return 0.0
    if last.kind in ("pause", "end"):
        return last.ex_minute
    seconds = (at - aware(last.at)).total_seconds()  # type: ignore[operator]
    return last.ex_minute + max(seconds, 0.0) * ex.speed / 60
