"""Authority scoped to the organisation: each finding of the issue, kept fixed over REST."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from minga.accounts import service as accounts
from minga.ingest.models import jobs
from minga.intel import service as intel
from minga.policy import Reach, Tlp
from tests.accounts.people import add_user
from tests.conftest import Member, add_member, refresh
from tests.factories import malware


def _group(sessions: sessionmaker[Session], owner: Member, *members: Member) -> int:
    with sessions() as s:
        view = accounts.create_group(
            s,
            None,
            name=f"group of {owner.org_id} {len(members)}",
            owner_org_id=owner.org_id,
            member_org_ids=[m.org_id for m in members],
        )
        s.commit()
    return view.id


def test_finding_1_only_the_owner_changes_a_group_and_members_may_leave(
    client: TestClient, sessions: sessionmaker[Session]
):
    a = add_member(sessions, "Owner A", role="coordinator")
    b = add_member(sessions, "Member B", role="coordinator")
    c = add_member(sessions, "Outsider C", role="coordinator")
    gid = _group(sessions, a, b)
    with sessions() as s:
        intel.create_objects(
            s, refresh(sessions, a).principal, [malware(1)], tlp=Tlp.RED, group_ids=[gid]
        )
        s.commit()
    # The outsider cannot add itself (and so never reads the group's TLP:RED) nor remove B.
    for who in (b, c):
        r = client.put(
            f"/api/groups/{gid}/members", json={"member_org_ids": [c.org_id]}, headers=who.headers
        )
        assert r.status_code == 403, r.text
        assert "owning organisation" in r.json()["message"]
    assert client.get(f"/api/objects/{malware(1)['id']}", headers=c.headers).status_code == 404
    # The owner may; who was removed is in the audit log.
    r = client.put(
        f"/api/groups/{gid}/members", json={"member_org_ids": [c.org_id]}, headers=a.headers
    )
    assert r.status_code == 200 and r.json()["member_org_ids"] == sorted([a.org_id, c.org_id])
    entry = client.get("/api/audit?limit=1", headers=a.headers).json()[0]
    assert (entry["action"], entry["detail"]["removed"], entry["detail"]["added"]) == (
        "group.members",
        [b.org_id],
        [c.org_id],
    )
    # A member leaves; the owner cannot; a non-member cannot.
    assert client.post(f"/api/groups/{gid}/leave", headers=c.headers).status_code == 200
    assert client.post(f"/api/groups/{gid}/leave", headers=a.headers).status_code == 403
    assert client.post(f"/api/groups/{gid}/leave", headers=b.headers).status_code == 403
    members = client.get("/api/groups", headers=a.headers).json()
    assert next(g for g in members if g["id"] == gid)["member_org_ids"] == [a.org_id]


def test_finding_6_publishing_into_a_group_needs_membership(
    client: TestClient, sessions: sessionmaker[Session]
):
    a = add_member(sessions, "Owner A")
    admin = add_member(sessions, "Admin Org", role="admin")
    coord = add_member(sessions, "Coord Org", role="coordinator")
    gid = _group(sessions, a)
    for outsider in (admin, coord):
        r = client.post(
            f"/api/objects?group={gid}&tlp=red", json=malware(7), headers=outsider.headers
        )
        assert r.status_code == 403, r.text
    r = client.post(f"/api/objects?group={gid}&tlp=red", json=malware(7), headers=a.headers)
    assert r.status_code == 201, r.text


def test_finding_2_admins_act_on_their_own_organisation_only(
    client: TestClient, sessions: sessionmaker[Session]
):
    operator = add_member(sessions, "Operator", role="admin")  # first admin: the operator
    admin_b = add_member(sessions, "Org B", role="admin")
    victim = add_member(sessions, "Org C", role="analyst")
    machine_c = add_user(sessions, victim.org_id, "org-c-sensor", "machine")
    for actor in (operator, admin_b):
        r = client.post(
            "/api/users",
            json={"org_id": victim.org_id, "name": "plant", "role": "admin"},
            headers=actor.headers,
        )
        assert r.status_code == 403
        for user_id in (victim.user_id, machine_c.user_id):
            r = client.post("/api/tokens", json={"user_id": user_id}, headers=actor.headers)
            assert r.status_code in (403, 404)
            r = client.post(f"/api/users/{user_id}/disable", headers=actor.headers)
            assert r.status_code in (403, 404)
        r = client.delete(f"/api/tokens/{victim.token.split('_')[1]}", headers=actor.headers)
        assert r.status_code == 404
    # Org B's admin is not the operator: it creates no organisation either.
    org = {"name": "New", "country": "PA", "sector": "gov", "kind": "csirt"}
    assert client.post("/api/organisations", json=org, headers=admin_b.headers).status_code == 403
    assert client.get("/api/me", headers=victim.headers).status_code == 200
    assert client.get("/api/me", headers=machine_c.headers).status_code == 200
    # Nor does it see other organisations' accounts.
    listed = client.get("/api/users", headers=admin_b.headers).json()
    assert {u["org_id"] for u in listed} == {admin_b.org_id}
    r = client.get(f"/api/users?org_id={victim.org_id}", headers=admin_b.headers)
    assert r.json() == []


def test_finding_6_no_admin_disables_itself(client: TestClient, sessions: sessionmaker[Session]):
    admin = add_member(sessions, "Solo", role="admin")
    r = client.post(f"/api/users/{admin.user_id}/disable", headers=admin.headers)
    assert r.status_code == 403 and "your own account" in r.json()["message"]
    assert client.get("/api/me", headers=admin.headers).status_code == 200


def test_finding_6_a_reader_upload_is_403_and_leaves_no_job(
    client: TestClient, sessions: sessionmaker[Session], session: Session
):
    reader = add_member(sessions, "Readers", role="reader")
    files = {"file": ("feed.json", b'{"type": "bundle", "objects": []}', "application/json")}
    r = client.post("/api/ingest", files=files, headers=reader.headers)
    assert r.status_code == 403 and r.json()["error"] == "forbidden"
    assert session.scalar(select(func.count()).select_from(jobs)) == 0


def test_finding_6_collections_have_an_owner(client: TestClient, sessions: sessionmaker[Session]):
    operator = add_member(sessions, "Operator", role="admin")
    a = add_member(sessions, "Org A", role="coordinator")
    b = add_member(sessions, "Org B", role="coordinator")
    r = client.post("/api/taxii/collections", json={"title": "A's feed"}, headers=a.headers)
    assert r.status_code == 201 and r.json()["owner_org_id"] == a.org_id
    cid = r.json()["id"]
    assert client.delete(f"/api/taxii/collections/{cid}", headers=b.headers).status_code == 403
    # The node-owned `all` collection is the operator's.
    assert client.delete("/api/taxii/collections/all", headers=b.headers).status_code == 403
    assert client.delete(f"/api/taxii/collections/{cid}", headers=a.headers).status_code == 200
    r = client.post("/api/taxii/collections", json={"title": "x"}, headers=operator.headers)
    assert r.status_code == 201
    reader = add_user(sessions, a.org_id, "org-a-reader", "reader")
    r = client.post("/api/taxii/collections", json={"title": "y"}, headers=reader.headers)
    assert r.status_code == 403


def test_finding_3_the_audit_log_is_filtered(client: TestClient, sessions: sessionmaker[Session]):
    a = add_member(sessions, "Org A")
    admin_b = add_member(sessions, "Org B", role="admin")
    with sessions() as s:
        for n, tlp, reach in [
            (1, Tlp.RED, Reach.COMMUNITY),
            (2, Tlp.GREEN, Reach.ORGANISATION),
            (3, Tlp.GREEN, Reach.COMMUNITY),
        ]:
            intel.create_objects(s, a.principal, [malware(n)], tlp=tlp, reach=reach)
        accounts.create_user(s, None, org_id=a.org_id, name="a-2", role="reader")
        s.commit()
    r = client.post(
        "/api/users",
        json={"org_id": admin_b.org_id, "name": "b-2", "role": "reader"},
        headers=admin_b.headers,
    )
    assert r.status_code == 201
    seen = client.get("/api/audit?limit=1000", headers=admin_b.headers).json()
    object_ids = {e["target_id"] for e in seen if e["target_type"] == "stix"}
    assert malware(3)["id"] in object_ids  # visible to B: its event is too
    assert not object_ids & {malware(1)["id"], malware(2)["id"]}
    assert all(e["org_id"] in (admin_b.org_id, a.org_id, None) for e in seen)
    assert not [e for e in seen if e["target_type"] == "user" and e["detail"]["name"] == "a-2"]
    assert [e for e in seen if e["action"] == "user.create" and e["detail"]["name"] == "b-2"]
    assert client.get("/api/audit", headers=a.headers).status_code == 403  # analysts read none
