"""`minga init` and `demo-data` print sign-in passwords once; `minga user set-password` etc."""

from __future__ import annotations

import re

import pyotp
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from minga.accounts import signin, websessions
from minga.accounts.models import OidcLink
from minga.cli import app
from tests.conftest import add_member

runner = CliRunner()
PASSWORD = re.compile(r"^\s*([A-Za-z0-9_-]{8}-[A-Za-z0-9_-]{8}-[A-Za-z0-9_-]{8})\s*$", re.M)


@pytest.fixture
def env(db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("MINGA_DATABASE_URL", db_url)
    return db_url


def test_init_prints_a_working_password_once(env: str, sessions: sessionmaker[Session]):
    r = runner.invoke(app, ["init", "--admin", "root"])
    assert r.exit_code == 0, r.output
    (password,) = PASSWORD.findall(r.output)
    with sessions() as s:
        root = signin.check_password(s, "root", password)
        assert root is not None and not signin.has_totp(s, root.id)  # enrolled at first sign-in
    again = runner.invoke(app, ["init"])
    assert PASSWORD.findall(again.output) == []


def test_demo_data_prints_each_demo_person_and_a_password(
    env: str, sessions: sessionmaker[Session]
):
    r = runner.invoke(app, ["demo-data"])
    assert r.exit_code == 0, r.output
    lines = {
        line.split()[0]: line.split()[1]
        for line in r.output.splitlines()
        if len(line.split()) >= 2 and PASSWORD.match(" " + line.split()[1])
    }
    assert {"ana.rojas", "maria.lopez", "admin.hub"} <= set(lines)
    assert len(set(lines.values())) == len(lines) == 14
    with sessions() as s:
        assert signin.check_password(s, "ana.rojas", lines["ana.rojas"]) is not None
        assert signin.check_password(s, "ana.rojas", lines["maria.lopez"]) is None
    assert PASSWORD.findall(runner.invoke(app, ["demo-data"]).output) == []


def test_set_password_reset_totp_and_link_oidc(env: str, sessions: sessionmaker[Session]):
    a = add_member(sessions, "Org A")
    with sessions() as s:
        secret = signin.start_enrolment(s, a.user_id)
        signin.confirm_enrolment(s, a.user_id, pyotp.TOTP(secret).now())
        websessions.open_session(
            s, a.user_id, stage="complete", method="password", address="", user_agent="", hours=1
        )
        s.commit()
    r = runner.invoke(app, ["user", "set-password", "org-a-analyst", "--generate"])
    assert r.exit_code == 0, r.output
    (password,) = PASSWORD.findall(r.output)
    typed = "tamal de chipilin 2026"
    r = runner.invoke(app, ["user", "set-password", "org-a-analyst"], input=f"{typed}\n{typed}\n")
    assert r.exit_code == 0, r.output
    with sessions() as s:
        assert signin.check_password(s, "org-a-analyst", password) is None
        assert signin.check_password(s, "org-a-analyst", typed) is not None
        assert websessions.list_sessions(s, a.user_id) == []  # a new password ends sessions
    r = runner.invoke(app, ["user", "set-password", "org-a-analyst"], input="123456\n123456\n")
    assert r.exit_code == 2
    assert "too short" in r.output
    r = runner.invoke(app, ["user", "reset-totp", "org-a-analyst"])
    assert r.exit_code == 0
    with sessions() as s:
        assert not signin.has_totp(s, a.user_id)
        assert signin.recovery_codes_left(s, a.user_id) == 0
    args = ["user", "link-oidc", "org-a-analyst", "--subject", "abc", "--issuer", "https://id.ex"]
    assert runner.invoke(app, args).exit_code == 0
    with sessions() as s:
        link = s.scalar(select(OidcLink))
        assert link is not None and (link.issuer, link.subject) == ("https://id.ex", "abc")
    again = runner.invoke(app, args)
    assert again.exit_code == 2 and "already linked" in again.output


def test_machines_and_unknown_people_get_one_sentence(env: str, sessions: sessionmaker[Session]):
    add_member(sessions, "Sensor", role="machine")
    r = runner.invoke(app, ["user", "set-password", "sensor-machine", "--generate"])
    assert r.exit_code == 2 and "machine account" in r.output
    r = runner.invoke(app, ["user", "reset-totp", "nobody"])
    assert r.exit_code == 2 and "no user named" in r.output
    assert "Traceback" not in r.output
