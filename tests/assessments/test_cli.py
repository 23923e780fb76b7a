"""`minga assessments ...`: the situation report written and stored, the scheduled run, review
reminders, and clear errors."""

from __future__ import annotations

from datetime import UTC, date, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from minga.assessments import risks, sitrep
from minga.assessments.models import Sitrep
from minga.cli import app
from minga.reports.pdf import pdf_text
from tests.conftest import add_member

runner = CliRunner()


@pytest.fixture
def env(db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("MINGA_DATABASE_URL", db_url)
    monkeypatch.setenv("MINGA_SITREP_LANGUAGES", "pt,en")
    return db_url


def test_sitrep_written_and_stored(env: str, sessions: sessionmaker[Session], tmp_path):
    assert (
        runner.invoke(app, ["assessments", "sitrep", "--out", str(tmp_path / "r.pdf")]).exit_code
        == 2
    )
    assert runner.invoke(app, ["init", "--org", "Hub", "--country", "CR"]).exit_code == 0
    assert runner.invoke(app, ["demo-data"]).exit_code == 0
    target = tmp_path / "sitrep.pdf"
    r = runner.invoke(app, ["assessments", "sitrep", "--out", str(target), "--lang", "es"])
    assert r.exit_code == 0, r.output
    text = pdf_text(target.read_bytes())
    assert "Informe regional de situación" in text and "Por país" in text
    bad = runner.invoke(app, ["assessments", "sitrep", "--out", str(tmp_path / "x.doc")])
    assert bad.exit_code == 2 and ".pdf or .html" in bad.output
    r = runner.invoke(app, ["assessments", "sitrep", "--store"])
    assert r.exit_code == 0 and "stored 2 situation reports (pt, en)" in r.output
    with sessions() as s:
        langs = sorted(s.scalars(select(Sitrep.lang)))
        assert langs == ["en", "pt"]
        newest = s.scalar(select(func.max(Sitrep.created_at)))
    # The schedule: nothing while the newest is younger than the period, then a new set.
    assert newest is not None
    newest = newest if newest.tzinfo else newest.replace(tzinfo=UTC)
    kw = {"hours": 24, "languages": ["es"], "period_days": 30, "node_name": "n"}
    assert sitrep.run_scheduled(sessions, now=newest + timedelta(hours=1), **kw) == 0
    assert sitrep.run_scheduled(sessions, now=newest + timedelta(hours=25), **kw) == 1
    with sessions() as s:
        stored = s.scalars(select(Sitrep).where(Sitrep.lang == "es")).one()
        assert "Informe regional de situación" in pdf_text(stored.pdf)


def test_risks_due_lists_reminders(env: str, sessions: sessionmaker[Session]):
    member = add_member(sessions, "Hospital Tres", country="PA")
    with sessions() as s:
        soon = date.today() + timedelta(days=3)
        far = date.today() + timedelta(days=200)
        for asset, when in (("Laboratorio", soon), ("Nómina", far)):
            data = risks.RiskIn(
                asset=asset, threat="Ransomware", likelihood=3, impact=4, review_on=when
            )
            risks.create(s, member.principal, data)
        s.commit()
    r = runner.invoke(app, ["assessments", "risks-due"])
    assert r.exit_code == 0, r.output
    assert "Laboratorio" in r.output and "Nómina" not in r.output and "1 review(s) due" in r.output
    r = runner.invoke(app, ["assessments", "risks-due", "--days", "365"])
    assert "2 review(s) due" in r.output


def test_frameworks_command(env: str):
    r = runner.invoke(app, ["assessments", "frameworks"])
    assert r.exit_code == 0
    assert "23 factors, 61 aspects" in r.output and "106 subcategories" in r.output
