"""REST objects API: create, bulk, get, list, versions, revoke, errors."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from minga.intel import service
from minga.intel.models import objects
from minga.intel.stix import TLP2_MARKING_ID
from minga.policy import Tlp
from tests.conftest import add_member
from tests.factories import indicator, malware


def test_create_get_and_created_by_ref_filled(client: TestClient, sessions: sessionmaker[Session]):
    a = add_member(sessions, "Org A")
    r = client.post("/api/objects?tlp=green", json=indicator(1), headers=a.headers)
    assert r.status_code == 201, r.text
    assert r.json() == {
        "created": [{"id": indicator(1)["id"], "version": "2024-03-01T12:00:00.000Z"}],
        "existing": [],
        "already_known": [],  # no value this organisation had published (minga.correlate)
        "also_reported": [],
    }
    got = client.get(f"/api/objects/{indicator(1)['id']}", headers=a.headers).json()
    assert got["object"]["created_by_ref"] == a.principal.identity_ref
    assert got["object"]["object_marking_refs"] == [TLP2_MARKING_ID[Tlp.GREEN]]
    assert got["meta"]["tlp"] == "green"
    assert got["meta"]["reach"] == "community"
    assert got["meta"]["owner"] == {"id": a.org_id, "name": "Org A"}


def test_repost_identical_is_not_an_error(client: TestClient, sessions: sessionmaker[Session]):
    a = add_member(sessions, "Org A")
    client.post("/api/objects", json=indicator(1), headers=a.headers)
    r = client.post("/api/objects", json=indicator(1), headers=a.headers)
    assert r.status_code == 200
    assert r.json()["existing"] == [{"id": indicator(1)["id"], "version": indicator(1)["modified"]}]


def test_created_by_ref_of_another_org_is_refused(
    client: TestClient, sessions: sessionmaker[Session]
):
    a = add_member(sessions, "Org A")
    b = add_member(sessions, "Org B")
    obj = indicator(1, created_by_ref=b.principal.identity_ref)
    r = client.post("/api/objects", json=obj, headers=a.headers)
    assert r.status_code == 422
    assert "created_by_ref" in r.json()["details"][0]["problems"][0]


def test_bulk_is_all_or_nothing(
    client: TestClient, sessions: sessionmaker[Session], session: Session
):
    a = add_member(sessions, "Org A")
    bad = indicator(3, pattern="[ipv4-addr:value = ")
    body = {"objects": [indicator(1), indicator(2), bad], "tlp": "amber"}
    r = client.post("/api/objects/bulk", json=body, headers=a.headers)
    assert r.status_code == 422
    assert r.json()["details"][0]["index"] == 2
    stored = session.scalar(select(func.count()).where(objects.c.type == "indicator"))
    assert stored == 0


def test_bad_input_gets_4xx_with_a_message(client: TestClient, sessions: sessionmaker[Session]):
    a = add_member(sessions, "Org A")
    h = {**a.headers, "content-type": "application/json"}
    assert client.post("/api/objects", content=b"{not json", headers=h).status_code == 422
    assert client.post("/api/objects", content=b"", headers=h).status_code == 422
    assert client.post("/api/objects", json=42, headers=a.headers).status_code == 422
    r = client.post("/api/objects?tlp=purple", json=indicator(1), headers=a.headers)
    assert r.status_code == 422 and "purple" in r.json()["message"]
    r = client.get("/api/objects?cursor=zzz", headers=a.headers)
    assert r.status_code == 400 and r.json()["message"]
    r = client.get("/api/objects?added_after=yesterday", headers=a.headers)
    assert r.status_code == 422
    r = client.get("/api/objects?limit=0", headers=a.headers)
    assert r.status_code == 422
    assert client.get("/api/objects/indicator--nope", headers=a.headers).status_code == 404
    assert client.get("/api/objects").status_code == 401
    r = client.get("/api/objects", headers={"Authorization": "Bearer mg_000000000000_x"})
    assert r.status_code == 401


def test_versions_and_revoke(client: TestClient, sessions: sessionmaker[Session]):
    a = add_member(sessions, "Org A")
    b = add_member(sessions, "Org B")
    client.post("/api/objects", json=malware(1), headers=a.headers)
    v2 = malware(1, modified="2024-03-02T00:00:00.000Z", description="updated")
    assert client.post("/api/objects", json=v2, headers=a.headers).status_code == 201
    versions = client.get(f"/api/objects/{v2['id']}/versions", headers=a.headers).json()
    assert [v["meta"]["version"] for v in versions["versions"]] == [
        "2024-03-01T12:00:00.000Z",
        "2024-03-02T00:00:00.000Z",
    ]
    assert [v["meta"]["latest"] for v in versions["versions"]] == [False, True]
    # Another organisation may neither version nor revoke it.
    v3 = malware(1, modified="2024-03-03T00:00:00.000Z")
    assert client.post("/api/objects", json=v3, headers=b.headers).status_code in (403, 422)
    assert client.post(f"/api/objects/{v2['id']}/revoke", headers=b.headers).status_code == 403
    r = client.post(f"/api/objects/{v2['id']}/revoke", headers=a.headers)
    assert r.status_code == 200 and r.json()["object"]["revoked"] is True
    listed = client.get("/api/objects?type=malware", headers=a.headers).json()["objects"]
    assert listed == []
    listed = client.get("/api/objects?type=malware&include_revoked=true", headers=a.headers)
    assert [o["object"]["revoked"] for o in listed.json()["objects"]] == [True]


def test_list_filters_and_stable_cursor(client: TestClient, sessions: sessionmaker[Session]):
    a = add_member(sessions, "Org A")
    items = [indicator(i) for i in range(1, 8)] + [malware(100, name="Hive ransomware")]
    client.post("/api/objects/bulk?tlp=green", json=items, headers=a.headers)
    seen: list[str] = []
    cursor = None
    while True:
        url = "/api/objects?type=indicator&limit=3&order=oldest"
        r = client.get(url + (f"&cursor={cursor}" if cursor else ""), headers=a.headers).json()
        seen += [o["object"]["id"] for o in r["objects"]]
        # An object added mid-walk must not disturb the pages already handed out.
        if cursor is None:
            client.post("/api/objects?tlp=green", json=malware(200), headers=a.headers)
        cursor = r["next"]
        if cursor is None:
            break
    assert seen == [indicator(i)["id"] for i in range(1, 8)]
    found = client.get("/api/objects?q=HIVE", headers=a.headers).json()["objects"]
    assert [o["object"]["name"] for o in found] == ["Hive ransomware"]
    none = client.get("/api/objects?tlp=red", headers=a.headers).json()
    assert none == {"objects": [], "next": None}


def test_identical_version_from_another_org_is_existing_and_changes_nothing(
    client: TestClient, sessions: sessionmaker[Session]
):
    a = add_member(sessions, "Org A")
    b = add_member(sessions, "Org B")
    shared = malware(7, created_by_ref=a.principal.identity_ref)
    assert client.post("/api/objects?tlp=green", json=shared, headers=a.headers).status_code == 201
    # Org B imports the same third-party content (e.g. the same MISP feed): not an error.
    r = client.post("/api/objects/bulk", json={"objects": [shared]}, headers=b.headers)
    assert r.status_code == 422  # enforced creator: B may not claim A's identity
    with sessions() as s:
        result = service.create_objects(s, b.principal, [shared], enforce_creator=False)
        s.commit()
    assert result.existing == [(shared["id"], shared["modified"])] and result.created == []
    got = client.get(f"/api/objects/{shared['id']}", headers=b.headers).json()
    assert (got["meta"]["owner"]["id"], got["meta"]["tlp"]) == (a.org_id, "green")
