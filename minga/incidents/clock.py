"""The clock and settings incident adapters read: `app.state.incident_clock` (a `now`
function tests pin) and the regulatory clocks file, read once per path."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import cache
from typing import Any

from minga.incidents.reference import load_clocks
from minga.incidents.service import utcnow

Clock = Callable[[], datetime]


def now_from(state: Any) -> datetime:
    clock: Clock | None = getattr(state, "incident_clock", None)
    return clock() if clock is not None else utcnow()


@cache
def clocks_doc(path: str) -> dict[str, Any]:
    return load_clocks(path)
