"""A drill community: the hub that directs (a coordinator), two teams (analysts), the national
CSIRT teams escalate to, an evaluator, and an outsider; an exercise of the shipped Costa Rica
scenario on an accelerated clock (speed 60: an exercise minute per real second)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from minga.exercises import service
from tests.conftest import Member, add_member

T0 = datetime(2026, 5, 8, 14, 0, tzinfo=UTC)
SPEED = 60.0
SCALE = "low,medium,high,very-high"


def at_minute(minute: float) -> datetime:
    """The real time at which the exercise (started at T0, never paused) reaches `minute`."""
    return T0 + timedelta(seconds=minute * 60 / SPEED)


@dataclass
class Drill:
    director: Member
    team_a: Member
    team_b: Member
    national: Member
    evaluator: Member
    outsider: Member
    exercise_id: int = 0


@pytest.fixture
def drill(sessions: sessionmaker[Session]) -> Drill:
    d = Drill(
        director=add_member(sessions, "Hub Regional", role="coordinator"),
        team_a=add_member(sessions, "CSIRT Hacienda"),
        team_b=add_member(sessions, "CSIRT Aduanas"),
        national=add_member(sessions, "CSIRT Nacional"),
        evaluator=add_member(sessions, "Evaluadores", role="analyst"),
        outsider=add_member(sessions, "Otra Empresa"),
    )
    with sessions() as s:
        service.ensure_shipped(s, T0)
        sc = service.get_scenario(s, "costa-rica-2022-ransomware")
        ex = service.create_exercise(
            s, d.director.principal, scenario_id=sc.id, name="Drill CR", lang="es", speed=SPEED,
            team_org_ids=[d.team_a.org_id, d.team_b.org_id],
            evaluator_user_ids=[d.evaluator.user_id], at=T0 - timedelta(hours=1),
        )  # fmt: skip
        s.commit()
        d.exercise_id = ex.id
    return d


from tests.test_mail import smtp  # noqa: E402, F401 (the aiosmtpd fixture, for e-mail injects)
