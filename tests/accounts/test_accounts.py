"""Organisations, users, tokens, groups and the audit log over the REST API."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from minga.accounts import service as accounts
from minga.accounts.models import ApiToken
from minga.audit import AuditEntry
from tests.accounts.people import add_user
from tests.conftest import add_member


def test_operator_onboards_an_organisation_through_an_invitation(
    client: TestClient, sessions: sessionmaker[Session], session: Session
):
    # Changed by the authority rule: the operator's admin used to create maria in CSIRT-GT and
    # issue her token itself; now it creates the organisation and invites its first admin, who
    # redeems the invitation; that admin issues tokens only to machine accounts of its own.
    operator = add_member(sessions, "Hub", role="admin")
    r = client.post(
        "/api/organisations",
        json={"name": "CSIRT-GT", "country": "gt", "sector": "Government", "kind": "csirt"},
        headers=operator.headers,
    )
    assert r.status_code == 201, r.text
    org = r.json()
    assert (org["country"], org["sector"]) == ("GT", "government")
    assert org["identity_ref"].startswith("identity--")
    # Its STIX identity is in the store for everyone to see.
    ident = client.get(f"/api/objects/{org['identity_ref']}", headers=operator.headers).json()
    assert ident["object"]["name"] == "CSIRT-GT"
    # The operator creates no account in another organisation and issues it no token.
    r = client.post(
        "/api/users",
        json={"org_id": org["id"], "name": "maria", "role": "analyst"},
        headers=operator.headers,
    )
    assert r.status_code == 403
    r = client.post(
        "/api/invitations", json={"org_id": org["id"], "role": "admin"}, headers=operator.headers
    )
    assert r.status_code == 201, r.text
    secret = r.json()["secret"]
    r = client.post("/api/invitations/redeem", json={"secret": secret, "user_name": "maria"})
    assert r.status_code == 201, r.text
    assert "token" not in r.json()  # a person sets a password on the web page instead
    maria_id = r.json()["user"]["id"]
    # Node-local bootstrap for the test: maria's own token, as the web page would give her.
    with sessions() as s:
        _, issued = accounts.issue_token(s, None, user_id=maria_id)
        s.commit()
    maria = {"Authorization": f"Bearer {issued.token}"}
    me = client.get("/api/me", headers=maria).json()
    assert me["user"]["name"] == "maria" and me["organisation"]["name"] == "CSIRT-GT"
    r = client.post(
        "/api/users",
        json={"org_id": org["id"], "name": "sensor-1", "role": "machine"},
        headers=maria,
    )
    assert r.status_code == 201
    sensor_id = r.json()["id"]
    r = client.post(
        "/api/users", json={"org_id": org["id"], "name": "jose", "role": "analyst"}, headers=maria
    )
    jose_id = r.json()["id"]
    r = client.post("/api/tokens", json={"user_id": sensor_id}, headers=maria)
    assert r.status_code == 201
    stored = session.scalar(select(ApiToken).where(ApiToken.public_id == r.json()["public_id"]))
    assert stored is not None and r.json()["token"] not in stored.secret_hash
    assert stored.secret_hash.startswith("hmac-sha256$")  # a keyed hash (tokens are random)
    # No credential for another person, and none for the operator's users.
    assert client.post("/api/tokens", json={"user_id": jose_id}, headers=maria).status_code == 403
    r = client.post("/api/tokens", json={"user_id": sensor_id}, headers=operator.headers)
    assert r.status_code == 403  # the operator knows the account, but holds no power over it
    assert "token" not in client.get("/api/tokens", headers=maria).json()[0]
    actions = [e.action for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert actions[-7:] == [
        "invitation.create",
        "user.create",
        "invitation.redeem",
        "token.issue",
        "user.create",
        "user.create",
        "token.issue",
    ]


def test_revoked_token_stops_working_at_once(client: TestClient, sessions: sessionmaker[Session]):
    a = add_member(sessions, "Org A")
    assert client.get("/api/me", headers=a.headers).status_code == 200  # now cached
    public_id = a.token.split("_")[1]
    assert client.delete(f"/api/tokens/{public_id}", headers=a.headers).status_code == 200
    r = client.get("/api/me", headers=a.headers)
    assert r.status_code == 401 and "revoked" in r.json()["message"]


def test_disabled_user_cannot_authenticate(client: TestClient, sessions: sessionmaker[Session]):
    # Changed by the authority rule: the admin is now of the same organisation (it was another).
    admin = add_member(sessions, "Hub", role="admin")
    a = add_user(sessions, admin.org_id, "hub-analyst", "analyst")
    assert client.post(f"/api/users/{a.user_id}/disable", headers=admin.headers).status_code == 200
    assert client.get("/api/me", headers=a.headers).status_code == 401


def test_roles_are_enforced(client: TestClient, sessions: sessionmaker[Session]):
    reader = add_member(sessions, "Org R", role="reader")
    analyst = add_member(sessions, "Org A")
    org = {"name": "X", "country": "MX", "sector": "energy", "kind": "private"}
    assert client.post("/api/organisations", json=org, headers=analyst.headers).status_code == 403
    r = client.post("/api/objects", json={"type": "malware"}, headers=reader.headers)
    assert r.status_code == 403
    assert client.get("/api/audit", headers=analyst.headers).status_code == 403
    other_token = client.get("/api/tokens", headers=analyst.headers).json()
    assert {t["user_id"] for t in other_token} == {analyst.user_id}
    # Changed by the authority rule: another organisation's account now answers like an unknown
    # one (it was 403, which told the caller the account exists).
    r = client.post("/api/tokens", json={"user_id": reader.user_id}, headers=analyst.headers)
    unknown = client.post("/api/tokens", json={"user_id": 99999}, headers=analyst.headers)
    assert r.status_code == unknown.status_code == 404
    assert r.json()["message"].replace(str(reader.user_id), "N") == unknown.json()[
        "message"
    ].replace("99999", "N")


def test_bad_account_input_is_a_4xx_with_a_message(
    client: TestClient, sessions: sessionmaker[Session]
):
    admin = add_member(sessions, "Hub", role="admin")
    h = admin.headers
    bad_country = {"name": "X", "country": "C1", "sector": "x", "kind": "csirt"}
    r = client.post("/api/organisations", json=bad_country, headers=h)
    assert r.status_code == 422 and "ISO" in r.json()["message"]
    bad_kind = {"name": "X", "country": "CO", "sector": "x", "kind": "bank"}
    assert client.post("/api/organisations", json=bad_kind, headers=h).status_code == 422
    dup = {"name": "Hub", "country": "CO", "sector": "x", "kind": "csirt"}
    assert client.post("/api/organisations", json=dup, headers=h).status_code == 409
    r = client.post("/api/users", json={"org_id": 999, "name": "x1", "role": "analyst"}, headers=h)
    assert r.status_code == 404
    r = client.post(
        "/api/users", json={"org_id": admin.org_id, "name": "x1", "role": "god"}, headers=h
    )
    assert r.status_code == 422 and "role" in r.json()["message"]
    assert client.post("/api/users", content=b"[", headers=h).status_code == 422
    assert client.delete("/api/tokens/nope", headers=h).status_code == 404


def test_groups_owner_is_member_and_members_must_exist(
    client: TestClient, sessions: sessionmaker[Session]
):
    coord = add_member(sessions, "Hub", role="coordinator")
    b = add_member(sessions, "Org B")
    r = client.post(
        "/api/groups", json={"name": "Cell", "member_org_ids": [b.org_id]}, headers=coord.headers
    )
    assert r.status_code == 201
    assert r.json()["member_org_ids"] == sorted([coord.org_id, b.org_id])
    gid = r.json()["id"]
    r = client.put(
        f"/api/groups/{gid}/members", json={"member_org_ids": [12345]}, headers=coord.headers
    )
    assert r.status_code == 422
    r = client.put(f"/api/groups/{gid}/members", json={"member_org_ids": []}, headers=coord.headers)
    assert r.json()["member_org_ids"] == [coord.org_id]
    # B is no longer a member, so B cannot share with the group.
    r = client.post(f"/api/objects?group={gid}", json={"type": "x"}, headers=b.headers)
    assert r.status_code == 403
