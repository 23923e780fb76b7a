"""Scheduled updates load URL-loaded sources again once due; file-loaded ones are left alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from minga.knowledge import schedule, service
from tests.conftest import Member
from tests.knowledge.conftest import FIXTURES


def test_due_sources_load_again_from_their_url(
    sessions: sessionmaker[Session], operator: Member, served: str
):
    with sessions() as s:
        service.update(s, "kev", f"{served}/kev.json")
        service.update(s, "attack", str(FIXTURES / "enterprise-attack"))
        s.commit()
    day = timedelta(hours=24)
    assert schedule.run_due(sessions, day) == {}  # just loaded: nothing due
    later = datetime.now(UTC) + timedelta(hours=25)
    outcomes = schedule.run_due(sessions, day, now=later)
    assert list(outcomes) == [f"{served}/kev.json"]  # the directory is not re-read
    assert "0 new, 5 already stored" in outcomes[f"{served}/kev.json"]


def test_a_failing_source_is_reported_not_raised(
    sessions: sessionmaker[Session], operator: Member, served: str
):
    with sessions() as s:
        service.update(s, "kev", f"{served}/kev.json")
        s.commit()
    with sessions() as s:
        release = service.releases(s)[0]
        release.location = f"{served}/gone.json"
        s.commit()
    later = datetime.now(UTC) + timedelta(days=2)
    outcomes = schedule.run_due(sessions, timedelta(hours=24), now=later)
    assert outcomes[f"{served}/gone.json"].startswith("failed:")
    assert "HTTP 404" in outcomes[f"{served}/gone.json"]
