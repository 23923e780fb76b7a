"""The `minga` command: init, demo-data, accounts, and clear errors with exit codes."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from minga.accounts.models import Organisation
from minga.cli import app
from minga.intel.models import objects

runner = CliRunner()
TOKEN = re.compile(r"mg_[0-9a-f]{12}_[A-Za-z0-9_-]+")


@pytest.fixture
def env(db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("MINGA_DATABASE_URL", db_url)
    return db_url


def test_init_prints_the_admin_token_once(env: str):
    first = runner.invoke(app, ["init", "--org", "CSIRT-CR", "--country", "CR"])
    assert first.exit_code == 0, first.output
    assert len(TOKEN.findall(first.output)) == 1
    again = runner.invoke(app, ["init"])
    assert again.exit_code == 0 and "already initialised" in again.output
    assert TOKEN.findall(again.output) == []


def test_demo_data_loads_once(env: str, sessions: sessionmaker[Session], session: Session):
    r = runner.invoke(app, ["demo-data"])
    assert r.exit_code == 0, r.output
    countries = set(session.scalars(select(Organisation.country)))
    assert {"GT", "CR", "CO", "MX", "DO"} <= countries
    stored = session.scalar(select(func.count()).select_from(objects))
    again = runner.invoke(app, ["demo-data"])
    assert "already loaded" in again.output
    assert session.scalar(select(func.count()).select_from(objects)) == stored
    names = {
        row for row in session.scalars(select(objects.c.raw).where(objects.c.type == "campaign"))
    }
    assert any("Costa Rica" in n for n in names)


def test_account_commands(env: str):
    assert runner.invoke(app, ["init"]).exit_code == 0
    r = runner.invoke(
        app, ["org", "create", "ColCERT", "--country", "co", "--sector", "government"]
    )
    assert r.exit_code == 0 and "ColCERT" in r.output
    r = runner.invoke(app, ["user", "create", "andres", "--org", "ColCERT", "--role", "analyst"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["token", "issue", "--user", "andres"])
    assert r.exit_code == 0 and len(TOKEN.findall(r.output)) == 1
    public_id = TOKEN.findall(r.output)[0].split("_")[1]
    assert runner.invoke(app, ["token", "revoke", public_id]).exit_code == 0
    r = runner.invoke(app, ["group", "create", "Andes", "--owner", "ColCERT"])
    assert r.exit_code == 0 and "1 members" in r.output


def test_bad_input_exits_with_a_sentence(env: str):
    assert runner.invoke(app, ["init"]).exit_code == 0
    r = runner.invoke(app, ["org", "create", "X", "--country", "Colombia", "--sector", "x"])
    assert r.exit_code == 2 and "ISO 3166-1" in r.output
    r = runner.invoke(app, ["user", "create", "x1", "--org", "nowhere", "--role", "analyst"])
    assert r.exit_code == 2 and "no organisation 'nowhere'" in r.output
    r = runner.invoke(app, ["token", "revoke", "nope"])
    assert r.exit_code == 2 and "no token" in r.output


def test_bad_database_url_is_a_sentence(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("MINGA_DATABASE_URL", "mysql://x")
    r = runner.invoke(app, ["org", "list"])
    assert r.exit_code == 2 and "MINGA_" in r.output
    monkeypatch.setenv("MINGA_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    r = runner.invoke(app, ["org", "list"])
    assert r.exit_code == 3 and "cannot use the database" in r.output
