"""Joining through an invitation on the web page: password here, TOTP at the first sign-in."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from minga.accounts import invitations, signin
from minga.accounts.models import Invitation, User
from minga.app import create_app
from minga.audit import AuditEntry
from minga.cli import app as cli_app
from minga.settings import Settings
from tests.conftest import add_member
from tests.web.conftest import csrf_of, other_client, sign_in

NEW_PASSWORD = "cafe chorreado en la manana 7"
UNUSABLE_EN = "This invitation is not valid: it is unknown, already used, revoked or expired."
UNUSABLE_ES = "Esta invitación no es válida: es desconocida, ya se usó, fue revocada o venció."
SECRET_RE = re.compile(r"mgi_[A-Za-z0-9_-]{20,}")


def _invite(sessions: sessionmaker[Session], org_id: int, role: str = "analyst") -> str:
    with sessions() as s:
        _, secret = invitations.create_invitation(s, None, org_id=org_id, role=role)
        s.commit()
    return secret


def _join(
    client: TestClient,
    secret: str,
    name: str,
    password: str = NEW_PASSWORD,
    repeat: str | None = None,
    lang: str = "en",
):
    form = client.get("/invite", headers={"Accept-Language": lang})
    return client.post(
        "/invite",
        data={
            "csrf": csrf_of(form.text),
            "secret": secret,
            "name": name,
            "password": password,
            "repeat": password if repeat is None else repeat,
        },
        headers={"Accept-Language": lang},
        follow_redirects=False,
    )


def _used(sessions: sessionmaker[Session], secret: str) -> bool:
    with sessions() as s:
        row = s.scalar(
            select(Invitation).where(Invitation.secret_hash == invitations._hash(secret))
        )
        assert row is not None
        return row.used_at is not None


def test_invited_person_joins_signs_in_enrols_totp_and_reaches_the_dashboard(
    client: TestClient, sessions: sessionmaker[Session]
):
    a = add_member(sessions, "Org A", role="admin")
    secret = _invite(sessions, a.org_id)
    page = client.get(f"/invite?secret={secret}")
    assert page.status_code == 200 and f'value="{secret}"' in page.text  # prefilled
    assert page.headers["Referrer-Policy"] == "no-referrer"
    r = _join(client, secret, "ana.mora")
    assert r.status_code == 303 and r.headers["location"] == "/signin"
    with sessions() as s:
        user = s.scalar(select(User).where(User.name == "ana.mora"))
        assert user is not None and (user.org_id, user.role) == (a.org_id, "analyst")
        assert signin.has_password(s, user.id) and not signin.has_totp(s, user.id)
        actions = set(
            s.scalars(select(AuditEntry.action).where(AuditEntry.target_id == str(user.id)))
        )
    assert {"user.create", "user.password"} <= actions
    assert _used(sessions, secret)
    # The normal sign-in: password, then enrolment of the authenticator app.
    form = client.get("/signin")
    r = client.post(
        "/signin",
        data={"csrf": csrf_of(form.text), "name": "ana.mora", "password": NEW_PASSWORD},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"].startswith("/signin/enrol")
    enrol = client.get(r.headers["location"])
    found = re.search(r'id="secret" readonly value="([A-Z2-7 ]+)"', enrol.text)
    assert found is not None
    code = pyotp.TOTP(found.group(1).replace(" ", "")).now()
    r = client.post("/signin/enrol", data={"csrf": csrf_of(enrol.text), "code": code, "next": "/"})
    assert r.status_code == 200, r.text  # the recovery codes, shown once
    dashboard = client.get("/", headers={"Accept-Language": "en"})
    assert dashboard.status_code == 200 and "<h1>Dashboard</h1>" in dashboard.text


@pytest.mark.parametrize(
    ("password", "repeat", "sentence"),
    [
        ("short", None, "The password is too short"),
        ("password123", None, "one of the most common passwords"),
        ("joao.silva rides the bus", None, "may not contain your user name"),
        (NEW_PASSWORD, NEW_PASSWORD + "x", "The two passwords differ."),
    ],
)
def test_a_refused_password_leaves_the_invitation_unused(
    client: TestClient, sessions: sessionmaker[Session], password: str, repeat, sentence: str
):
    a = add_member(sessions, "Org A", role="admin")
    secret = _invite(sessions, a.org_id)
    r = _join(client, secret, "joao.silva", password, repeat)
    assert r.status_code == 400 and sentence in r.text
    assert not _used(sessions, secret)
    with sessions() as s:
        assert s.scalar(select(User).where(User.name == "joao.silva")) is None
    assert _join(client, secret, "joao.silva").status_code == 303  # still redeemable


def test_a_taken_or_malformed_name_leaves_the_invitation_unused(
    client: TestClient, sessions: sessionmaker[Session]
):
    a = add_member(sessions, "Org A", role="admin")
    secret = _invite(sessions, a.org_id)
    r = _join(client, secret, "org-a-admin")
    assert r.status_code == 409 and "This user name is taken" in r.text
    r = _join(client, secret, "x")
    assert r.status_code == 400 and "A user name is 2 to 120 characters" in r.text
    assert not _used(sessions, secret)


def test_used_expired_revoked_and_unknown_secrets_get_the_same_sentence(
    client: TestClient, sessions: sessionmaker[Session]
):
    a = add_member(sessions, "Org A", role="admin")
    used, expired, revoked = (_invite(sessions, a.org_id) for _ in range(3))
    assert _join(client, used, "first.person").status_code == 303
    with sessions() as s:
        row = s.scalar(
            select(Invitation).where(Invitation.secret_hash == invitations._hash(expired))
        )
        assert row is not None
        row.expires_at = datetime.now(UTC) - timedelta(minutes=1)
        gone = s.scalar(
            select(Invitation).where(Invitation.secret_hash == invitations._hash(revoked))
        )
        assert gone is not None
        invitations.revoke_invitation(s, None, gone.id)
        s.commit()
    answers = []
    for n, secret in enumerate([used, expired, revoked, "mgi_not-a-real-secret"]):
        r = _join(client, secret, f"someone.{n}", lang="es")
        assert r.status_code == 400
        found = re.search(r'<p class="errors" role="alert">(.*?)</p>', r.text, re.S)
        assert found is not None
        answers.append(found.group(1))
    assert len(set(answers)) == 1 and answers[0].startswith(UNUSABLE_ES)
    with sessions() as s:
        assert s.scalar(select(User).where(User.name.like("someone.%"))) is None


def test_a_machine_invitation_is_sent_to_the_rest_route(
    client: TestClient, sessions: sessionmaker[Session]
):
    a = add_member(sessions, "Org A", role="admin")
    secret = _invite(sessions, a.org_id, role="machine")
    r = _join(client, secret, "sensor-1")
    assert r.status_code == 400 and "POST /api/invitations/redeem" in r.text
    assert not _used(sessions, secret)
    redeemed = client.post(
        "/api/invitations/redeem", json={"secret": secret, "user_name": "sensor-1"}
    )
    assert redeemed.status_code == 201 and redeemed.json()["token"]


def test_the_form_needs_its_csrf_token(client: TestClient, sessions: sessionmaker[Session]):
    a = add_member(sessions, "Org A", role="admin")
    secret = _invite(sessions, a.org_id)
    client.get("/invite")
    r = client.post(
        "/invite",
        data={"secret": secret, "name": "x.y", "password": NEW_PASSWORD, "repeat": NEW_PASSWORD},
    )
    assert r.status_code == 403
    assert not _used(sessions, secret)


@pytest.fixture
def strict(db_url: str, engine: Engine) -> Iterator[TestClient]:
    settings = Settings(
        database_url=db_url,
        ingest_worker_seconds=0,
        signin_max_failures=3,
        signin_max_address_failures=5,
        signin_window_seconds=600,
    )
    with TestClient(create_app(settings, engine=engine)) as c:
        yield c


def test_wrong_secrets_are_rate_limited_per_address(
    strict: TestClient, sessions: sessionmaker[Session]
):
    a = add_member(sessions, "Org A", role="admin")
    good = _invite(sessions, a.org_id)
    for n in range(3):
        assert _join(strict, f"mgi_guess-{n}", f"prober.{n}").status_code == 400
    r = _join(strict, good, "late.comer", lang="pt")  # even the right secret waits
    assert r.status_code == 429
    assert 0 < int(r.headers["Retry-After"]) <= 600
    assert "Tentativas falhas demais. Tente de novo em 10 minutos." in r.text
    assert not _used(sessions, good)
    # The address's count, not a person's: the real account still signs in from elsewhere.
    with sessions() as s:
        assert signin.retry_after(s, "org-a-admin", "elsewhere", signin.Limits(3, 5, 600)) == 0


def test_org_admin_creates_and_revokes_invitations_and_sees_only_its_own(
    client: TestClient, sessions: sessionmaker[Session]
):
    add_member(sessions, "Operator", role="admin")  # the node operator's organisation
    a = add_member(sessions, "Org A", role="admin")
    b = add_member(sessions, "Org B", role="admin")
    theirs = _invite(sessions, b.org_id)
    csrf = sign_in(client, a.token)
    r = client.post(
        "/admin/invitations",
        data={
            "csrf": csrf,
            "org_id": str(a.org_id),
            "role": "analyst",
            "note": "Ana",
            "hours": "48",
        },
        headers={"Accept-Language": "en"},
    )
    assert r.status_code == 201, r.text
    shown = SECRET_RE.search(r.text)
    assert shown is not None and f"/invite?secret={shown.group(0)}" in r.text
    with sessions() as s:
        mine = s.scalars(select(Invitation).where(Invitation.org_id == a.org_id)).all()
        other = s.scalar(select(Invitation).where(Invitation.org_id == b.org_id))
    assert len(mine) == 1 and mine[0].note == "Ana" and other is not None
    page = client.get("/admin/invitations", headers={"Accept-Language": "en"})
    assert f"Revoke invitation {mine[0].id}" in page.text
    assert f"Revoke invitation {other.id}" not in page.text and "Org B" not in page.text
    assert shown.group(0) not in page.text  # the secret was shown once
    # Another organisation's invitation: refused like an unknown one, and left alone.
    r = client.post(f"/admin/invitations/{other.id}/revoke", data={"csrf": csrf})
    assert r.status_code == 404
    unknown = client.post("/admin/invitations/999999/revoke", data={"csrf": csrf})
    assert unknown.status_code == 404
    assert f"no invitation with id {other.id}" in r.text
    assert "no invitation with id 999999" in unknown.text
    r = client.post(
        "/admin/invitations",
        data={"csrf": csrf, "org_id": str(b.org_id), "role": "analyst"},
    )
    assert r.status_code == 403
    r = client.post(
        f"/admin/invitations/{mine[0].id}/revoke", data={"csrf": csrf}, follow_redirects=False
    )
    assert r.status_code == 303
    page = client.get("/admin/invitations", headers={"Accept-Language": "en"})
    assert f"Revoke invitation {mine[0].id}" not in page.text
    with sessions() as s:
        assert invitations.status(s.get(Invitation, mine[0].id)) == "revoked"
        assert invitations.status(s.get(Invitation, other.id)) == "pending"
    assert _join(other_client(client), shown.group(0), "ana.mora").status_code == 400
    assert _join(other_client(client), theirs, "bea.rojas").status_code == 303


def test_rest_and_cli_say_where_to_redeem(
    client: TestClient,
    sessions: sessionmaker[Session],
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
):
    a = add_member(sessions, "Org A", role="admin")
    r = client.post("/api/invitations", json={"role": "reader"}, headers=a.headers)
    assert r.status_code == 201
    assert r.json()["redeem_at"] == f"/invite?secret={r.json()['secret']}"
    r = client.post("/api/invitations", json={"role": "machine"}, headers=a.headers)
    assert r.json()["redeem_at"] == "POST /api/invitations/redeem"
    monkeypatch.setenv("MINGA_DATABASE_URL", db_url)
    out = CliRunner().invoke(cli_app, ["invite", "create", "--org", "Org A", "--role", "analyst"])
    assert out.exit_code == 0, out.output
    secret = SECRET_RE.search(out.output)
    assert secret is not None and f"/invite?secret={secret.group(0)}" in out.output
