"""One-time invitations: REST, service and CLI; expired, used, revoked and unknown look alike."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from minga.accounts import invitations
from minga.accounts.models import Invitation
from minga.cli import app
from minga.errors import InvalidInput
from tests.accounts.people import add_user
from tests.conftest import add_member

SECRET = re.compile(r"mgi_[A-Za-z0-9_-]{20,}")


def test_an_admin_invites_into_its_own_organisation_and_the_secret_works_once(
    client: TestClient, sessions: sessionmaker[Session], session: Session
):
    add_member(sessions, "Operator", role="admin")
    a = add_member(sessions, "Org A", role="admin")
    b = add_member(sessions, "Org B", role="admin")
    r = client.post("/api/invitations", json={"role": "analyst", "note": "Ana"}, headers=a.headers)
    assert r.status_code == 201, r.text
    inv, secret = r.json(), r.json()["secret"]
    assert inv["org_id"] == a.org_id and SECRET.fullmatch(secret)
    stored = session.get(Invitation, inv["id"])
    assert stored is not None and secret not in stored.secret_hash
    listed = client.get("/api/invitations", headers=a.headers).json()
    assert [i["id"] for i in listed] == [inv["id"]] and "secret" not in listed[0]
    # Another organisation's admin neither sees it nor can tell it from an unknown one.
    assert client.get("/api/invitations", headers=b.headers).json() == []
    hidden = client.delete(f"/api/invitations/{inv['id']}", headers=b.headers)
    unknown = client.delete("/api/invitations/99999", headers=b.headers)
    assert hidden.status_code == unknown.status_code == 404
    assert hidden.json()["message"].replace(str(inv["id"]), "N") == unknown.json()[
        "message"
    ].replace("99999", "N")
    # Nor may it invite into A.
    r = client.post(
        "/api/invitations", json={"org_id": a.org_id, "role": "admin"}, headers=b.headers
    )
    assert r.status_code == 403
    r = client.post("/api/invitations/redeem", json={"secret": secret, "user_name": "ana"})
    assert r.status_code == 201, r.text
    assert r.json() == {
        "user": {
            "id": r.json()["user"]["id"],
            "org_id": a.org_id,
            "name": "ana",
            "role": "analyst",
            "active": True,
        }
    }
    answers = [
        client.post("/api/invitations/redeem", json={"secret": s, "user_name": "ana2"})
        for s in (secret, "mgi_unknown", "")
    ]
    assert [x.status_code for x in answers] == [422, 422, 422]
    assert answers[0].json()["message"] == answers[1].json()["message"] == invitations.UNUSABLE
    used = client.get("/api/invitations", headers=a.headers).json()[0]
    assert used["used_by"] == r.json()["user"]["id"]
    actions = [e["action"] for e in client.get("/api/audit", headers=a.headers).json()]
    assert {"invitation.create", "invitation.redeem"} <= set(actions)


def test_expired_and_revoked_invitations_answer_like_unknown_ones(
    sessions: sessionmaker[Session],
):
    a = add_member(sessions, "Org A", role="admin")
    with sessions() as s:
        expired, expired_secret = invitations.create_invitation(
            s, a.principal, org_id=a.org_id, role="reader"
        )
        expired.expires_at = datetime.now(UTC) - timedelta(minutes=1)
        revoked, revoked_secret = invitations.create_invitation(
            s, a.principal, org_id=a.org_id, role="reader"
        )
        invitations.revoke_invitation(s, a.principal, revoked.id)
        s.commit()
        assert [invitations.status(i) for i in invitations.list_invitations(s, a.principal)] == [
            "revoked",
            "expired",
        ]
    messages = []
    for secret in (expired_secret, revoked_secret, "mgi_nothing"):
        with sessions() as s, pytest.raises(InvalidInput) as caught:
            invitations.redeem_invitation(s, secret, user_name="late")
        messages.append(caught.value.message)
    assert messages == [invitations.UNUSABLE] * 3


def test_the_operator_onboards_first_admins_only_and_machines_get_their_token(
    client: TestClient, sessions: sessionmaker[Session]
):
    operator = add_member(sessions, "Operator", role="admin")
    other = add_member(sessions, "Org B", role="analyst")
    r = client.post(
        "/api/invitations",
        json={"org_id": other.org_id, "role": "analyst"},
        headers=operator.headers,
    )
    assert r.status_code == 403
    r = client.post(
        "/api/invitations", json={"org_id": other.org_id, "role": "admin"}, headers=operator.headers
    )
    assert r.status_code == 201
    listed = client.get(f"/api/invitations?org_id={other.org_id}", headers=operator.headers)
    assert [i["id"] for i in listed.json()] == [r.json()["id"]]
    # Coordinators and analysts invite nobody.
    coord = add_user(sessions, other.org_id, "org-b-coord", "coordinator")
    r = client.post("/api/invitations", json={"role": "reader"}, headers=coord.headers)
    assert r.status_code == 403
    r = client.post(
        "/api/invitations", json={"role": "machine"}, headers=add_member(sessions, "M").headers
    )
    assert r.status_code == 403
    r = client.post("/api/invitations", json={"role": "machine"}, headers=operator.headers)
    r = client.post(
        "/api/invitations/redeem", json={"secret": r.json()["secret"], "user_name": "sensor-7"}
    )
    assert r.status_code == 201
    token = r.json()["token"]
    me = client.get("/api/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert (me["user"]["name"], me["user"]["role"]) == ("sensor-7", "machine")


def test_invitation_commands(db_url: str, monkeypatch: pytest.MonkeyPatch, session: Session):
    monkeypatch.setenv("MINGA_DATABASE_URL", db_url)
    runner = CliRunner()
    assert runner.invoke(app, ["init", "--org", "CSIRT-CR"]).exit_code == 0
    r = runner.invoke(app, ["org", "create", "ColCERT", "--country", "co", "--sector", "gov"])
    assert r.exit_code == 0
    r = runner.invoke(app, ["invite", "create", "--org", "ColCERT", "--role", "admin"])
    assert r.exit_code == 0, r.output
    secret = SECRET.search(r.output)
    assert secret is not None
    r = runner.invoke(app, ["invite", "list"])
    assert r.exit_code == 0 and "ColCERT" in r.output and "pending" in r.output
    inv_id = session.scalar(select(Invitation.id))
    assert runner.invoke(app, ["invite", "revoke", str(inv_id)]).exit_code == 0
    assert "revoked" in runner.invoke(app, ["invite", "list"]).output
    r = runner.invoke(app, ["invite", "revoke", "999"])
    assert r.exit_code == 2 and "no invitation" in r.output
    r = runner.invoke(app, ["invite", "create", "--org", "ColCERT", "--role", "god"])
    assert r.exit_code == 2 and "role must be one of" in r.output
