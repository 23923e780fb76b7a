"""`minga knowledge update ... --from ...` and `minga knowledge status`."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from minga.cli import app
from tests.conftest import Member
from tests.knowledge.conftest import FIXTURES

runner = CliRunner()


@pytest.fixture(autouse=True)
def _database(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MINGA_DATABASE_URL", db_url)


def test_update_and_status(operator: Member, served: str):
    r = runner.invoke(app, ["knowledge", "status"])
    assert (r.exit_code, "No reference knowledge loaded yet" in r.output) == (0, True)
    r = runner.invoke(
        app, ["knowledge", "update", "attack", "--from", str(FIXTURES / "enterprise-attack")]
    )
    assert r.exit_code == 0, r.output
    assert "2022-04-19" in r.output and "attack" in r.output
    r = runner.invoke(app, ["knowledge", "update", "kev", "--from", f"{served}/kev.json"])
    assert r.exit_code == 0, r.output
    assert "2025.02.25" in r.output
    r = runner.invoke(app, ["knowledge", "status"])
    assert r.exit_code == 0
    assert "attack-enterprise" in r.output and "kev" in r.output


def test_bad_input_exits_2_with_a_sentence(sessions: sessionmaker[Session], operator: Member):
    r = runner.invoke(app, ["knowledge", "update", "cwe"])
    assert (r.exit_code, "unknown knowledge 'cwe'" in r.output) == (2, True)
    r = runner.invoke(app, ["knowledge", "update", "kev", "--from", str(FIXTURES / "nope.json")])
    assert r.exit_code == 2
    assert "no such file or directory" in r.output and "Traceback" not in r.output


def test_minga_ingest_takes_an_attack_bundle_with_the_v18_quirk(operator: Member):
    r = runner.invoke(
        app,
        ["ingest", str(FIXTURES / "enterprise-attack-newer.json"), "--user", "node-operator-admin"],
    )
    assert r.exit_code == 0, r.output  # repaired, not refused
    said = " ".join(r.output.split())
    assert "│ done │ 6 │" in said and "1 objects repaired" in said
