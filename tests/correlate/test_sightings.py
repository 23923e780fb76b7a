"""Sightings over REST and TAXII, counted through the policy, and the scores they move."""

from __future__ import annotations

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from minga.accounts import service as accounts
from minga.correlate import scores
from minga.correlate.score_models import sightings
from minga.intel import service as intel
from minga.intel.models import objects
from minga.intel.stix import now_ts
from minga.policy import Reach, Tlp
from tests.conftest import Member, add_member
from tests.factories import indicator, sid
from tests.taxii.conftest import post_envelope


def fresh(n: int, **extra: object) -> dict[str, object]:
    """An IP indicator modified just now (the fixed 2024 time has long decayed to 0)."""
    ts = now_ts()
    return indicator(n, created=ts, modified=ts, valid_from=ts, **extra)


def publish(client: TestClient, who: Member, obj: dict[str, object], **params: str) -> None:
    r = client.post("/api/objects", params=params, json=obj, headers=who.headers)
    assert r.status_code == 201, r.text


def meta(client: TestClient, who: Member, stix_id: str) -> dict[str, object]:
    r = client.get(f"/api/objects/{stix_id}", headers=who.headers)
    assert r.status_code == 200, r.text
    got: dict[str, object] = r.json()["meta"]
    return got


def test_i_saw_this_too_counts_and_raises_the_score(
    client: TestClient, sessions: sessionmaker[Session]
):
    a = add_member(sessions, "Org A")
    b = add_member(sessions, "Org B", country="GT")
    ind = fresh(1, confidence=60)
    publish(client, a, ind, tlp="green")
    before = meta(client, a, ind["id"])["score"]
    assert before["confidence"] == 60 and before["sightings"] == 0 and 59 <= before["score"] <= 60

    r = client.post(f"/api/objects/{ind['id']}/sightings", json={"count": 3}, headers=b.headers)
    assert r.status_code == 201, r.text
    body = r.json()
    sighting = body["sighting"]
    assert sighting["type"] == "sighting"
    assert sighting["sighting_of_ref"] == ind["id"]
    assert sighting["count"] == 3
    assert sighting["where_sighted_refs"] == [b.principal.identity_ref]
    assert sighting["created_by_ref"] == b.principal.identity_ref
    assert "first_seen" not in sighting and sighting["last_seen"]
    # Its own TLP: the sighted object's by default.
    assert r.json()["summary"]["sightings"] == 3

    seen = meta(client, a, ind["id"])
    assert seen["sightings"]["sightings"] == 3 and seen["sightings"]["organisations"] == 1
    # 60 + 10 × (a fresh sighting, weight ≈ 1) = 70
    assert seen["score"]["base"] == pytest.approx(70.0, abs=0.05)
    assert seen["score"]["sightings"] == 3 and 69 <= seen["score"]["score"] <= 70
    listed = client.get(f"/api/objects/{ind['id']}/sightings", headers=a.headers).json()
    assert [(s["organisation"], s["country"], s["count"]) for s in listed["sightings"]] == [
        ("Org B", "GT", 3)
    ]
    assert listed["sightings"][0]["observer"] == "member"
    # the list of objects carries the score too
    items = client.get("/api/objects", params={"type": "indicator"}, headers=a.headers).json()
    assert items["objects"][0]["meta"]["score"]["sightings"] == 3


def test_anonymous_sighting_counted_not_attributed(
    client: TestClient, sessions: sessionmaker[Session]
):
    a = add_member(sessions, "Org A")
    c = add_member(sessions, "Org C")
    ind = fresh(2)
    publish(client, a, ind, tlp="green")
    r = client.post(
        f"/api/objects/{ind['id']}/sightings", json={"anonymous": True}, headers=c.headers
    )
    assert r.status_code == 201, r.text
    sighting = r.json()["sighting"]
    assert "where_sighted_refs" not in sighting and sighting["x_minga_anonymous"] is True
    # Others count it, but cannot learn who made it, nor read the sighting object itself.
    for_a = client.get(f"/api/objects/{ind['id']}/sightings", headers=a.headers).json()
    assert for_a["summary"]["sightings"] == 1 and for_a["summary"]["anonymous"] == 1
    assert for_a["summary"]["mine"] == 0
    assert [(s["organisation"], s["id"], s["anonymous"]) for s in for_a["sightings"]] == [
        (None, "", True)
    ]
    assert client.get(f"/api/objects/{sighting['id']}", headers=a.headers).status_code == 404
    assert meta(client, a, ind["id"])["score"]["organisations"] == 1
    # Its own organisation sees it as its own.
    for_c = client.get(f"/api/objects/{ind['id']}/sightings", headers=c.headers).json()
    assert [(s["organisation"], s["mine"]) for s in for_c["sightings"]] == [("Org C", True)]
    assert meta(client, c, sighting["id"])["reach"] == "organisation"


def test_false_positive_lowers_the_score(client: TestClient, sessions: sessionmaker[Session]):
    a = add_member(sessions, "Org A")
    b = add_member(sessions, "Org B")
    ind = fresh(3, confidence=80)
    publish(client, a, ind, tlp="green")
    r = client.post(
        f"/api/objects/{ind['id']}/sightings", json={"false_positive": True}, headers=b.headers
    )
    assert r.status_code == 201, r.text
    assert r.json()["sighting"]["x_minga_false_positive"] is True
    score = meta(client, a, ind["id"])["score"]
    # 80 × 2^(−1) = 40 for a false positive reported now
    assert score["base"] == pytest.approx(40.0, abs=0.05)
    assert score["false_positives"] == 1 and score["sightings"] == 0
    assert 39 <= score["score"] <= 40


def test_hidden_sightings_are_not_counted_for_others(
    client: TestClient, sessions: sessionmaker[Session]
):
    a = add_member(sessions, "Org A")
    b = add_member(sessions, "Org B")
    ind = fresh(4, confidence=50)
    publish(client, a, ind, tlp="green")
    body = {"tlp": "red", "count": 7}
    r = client.post(f"/api/objects/{ind['id']}/sightings", json=body, headers=b.headers)
    assert r.status_code == 201, r.text
    assert r.json()["sighting"]["object_marking_refs"]
    # A may not see B's TLP:RED sighting (no sharing group): not counted for A, nor in the
    # node-wide score; B counts its own.
    assert meta(client, a, ind["id"])["sightings"]["sightings"] == 0
    assert meta(client, b, ind["id"])["sightings"]["sightings"] == 7
    assert meta(client, b, ind["id"])["sightings"]["mine"] == 1
    assert meta(client, a, ind["id"])["score"]["sightings"] == 0
    listed = client.get(f"/api/objects/{ind['id']}/sightings", headers=a.headers).json()
    assert listed["sightings"] == []


def test_hidden_or_unknown_object_gets_the_same_404(
    client: TestClient, sessions: sessionmaker[Session]
):
    a = add_member(sessions, "Org A")
    b = add_member(sessions, "Org B")
    ind = fresh(5)
    publish(client, a, ind, reach="organisation")
    for target in (ind["id"], sid("indicator", 999)):
        r = client.post(f"/api/objects/{target}/sightings", json={}, headers=b.headers)
        assert r.status_code == 404
        assert client.get(f"/api/objects/{target}/sightings", headers=b.headers).status_code == 404


def test_bad_sightings_are_refused(client: TestClient, sessions: sessionmaker[Session]):
    a = add_member(sessions, "Org A")
    ind = fresh(6)
    publish(client, a, ind)
    url = f"/api/objects/{ind['id']}/sightings"
    for body in (
        {"count": 0},
        {"first_seen": "yesterday"},
        {"first_seen": "2025-01-02T00:00:00Z", "last_seen": "2025-01-01T00:00:00Z"},
        {"tlp": "purple"},
        {"colour": "blue"},
    ):
        r = client.post(url, json=body, headers=a.headers)
        assert 400 <= r.status_code < 500 and r.status_code != 404, (body, r.text)
        assert "message" in r.json()
    reader = add_member(sessions, "Org R", role="reader")
    assert client.post(url, json={}, headers=reader.headers).status_code == 403


def test_sighting_over_taxii_is_counted(client: TestClient, sessions: sessionmaker[Session]):
    a = add_member(sessions, "Org A")
    b = add_member(sessions, "Org B")
    ind = fresh(7)
    publish(client, a, ind, tlp="green")
    ts = now_ts()
    stix = {
        "type": "sighting",
        "spec_version": "2.1",
        "id": sid("sighting", 7),
        "created": ts,
        "modified": ts,
        "sighting_of_ref": ind["id"],
        "count": 2,
        "first_seen": ts,
        "last_seen": ts,
        "where_sighted_refs": [b.principal.identity_ref],
        "object_marking_refs": ["marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"],
    }
    r = post_envelope(client, b.token, [stix])
    assert r.status_code == 202, r.text
    assert orjson.loads(r.content)["success_count"] == 1
    assert meta(client, a, ind["id"])["sightings"]["sightings"] == 2
    assert meta(client, a, ind["id"])["score"]["organisations"] == 1


def test_sensor_and_federated_sightings(sessions: sessionmaker[Session]):
    a = add_member(sessions, "Org A")
    sensor_org = add_member(sessions, "Org S")
    ind = fresh(8)
    with sessions() as s:
        intel.create_objects(s, a.principal, [ind], tlp=Tlp.GREEN)
        user = accounts.create_user(
            s, None, org_id=sensor_org.org_id, name="ids-sensor", role="machine"
        )
        sensor = accounts.principal_for(s, user)
        from minga.correlate import sightings as service

        service.record(s, sensor, ind["id"], count=5)
        # A version arriving over federation is stored with its origin node.
        ts = now_ts()
        remote = {
            "type": "sighting",
            "spec_version": "2.1",
            "id": sid("sighting", 8),
            "created": ts,
            "modified": ts,
            "sighting_of_ref": ind["id"],
            "created_by_ref": a.principal.identity_ref,
        }
        intel.create_objects(
            s,
            a.principal,
            [remote],
            tlp=Tlp.GREEN,
            reach=Reach.FEDERATION,
            provenance=intel.Provenance(source="federation:x", origin_node="node-x", hop_count=1),
        )
        s.commit()
        kinds = dict(s.execute(select(sightings.c.sighting_id, sightings.c.observer)).all())
        assert sorted(kinds.values()) == ["federation", "sensor"]
        assert scores.score_of(s, [ind["id"]])[ind["id"]].sightings == 6


def test_score_filter_refresh_and_revocation(sessions: sessionmaker[Session]):
    a = add_member(sessions, "Org A")
    high, low = fresh(9, confidence=90), fresh(10, confidence=40)
    with sessions() as s:
        intel.create_objects(s, a.principal, [high, low], tlp=Tlp.GREEN)
        s.commit()
        picked = s.scalars(
            select(objects.c.stix_id).where(
                objects.c.type == "indicator", scores.score_at_least(60)
            )
        ).all()
        assert picked == [high["id"]]
        # Ageing: a year later both IPs have decayed to 0 and are past valid_until.
        later = scores.score_of(s, [high["id"]])[high["id"]].computed_us + 365 * 86_400_000_000
        assert scores.refresh(s, now_us=later) == 2
        aged = scores.score_of(s, [high["id"], low["id"]])
        assert [aged[i].score for i in (high["id"], low["id"])] == [0, 0]
        assert aged[high["id"]].expired(later)
        # A revoked indicator loses its score.
        intel.revoke(s, a.principal, low["id"])
        s.commit()
        assert low["id"] not in scores.score_of(s, [low["id"]])


def test_sighting_of_a_hidden_object_over_taxii_counts_nowhere(
    client: TestClient, sessions: sessionmaker[Session]
):
    a = add_member(sessions, "Org A")
    b = add_member(sessions, "Org B")
    ind = fresh(11)
    publish(client, a, ind, reach="organisation")  # B may not see it
    ts = now_ts()
    stix = {
        "type": "sighting",
        "spec_version": "2.1",
        "id": sid("sighting", 11),
        "created": ts,
        "modified": ts,
        "sighting_of_ref": ind["id"],
        "count": 50,
    }
    r = post_envelope(client, b.token, [stix])
    assert r.status_code == 202 and orjson.loads(r.content)["success_count"] == 1
    assert meta(client, a, ind["id"])["sightings"]["sightings"] == 0
    assert meta(client, a, ind["id"])["score"]["sightings"] == 0


def test_revoked_or_deleted_sighting_stops_counting(
    client: TestClient, sessions: sessionmaker[Session]
):
    a = add_member(sessions, "Org A")
    b = add_member(sessions, "Org B")
    ind = fresh(12)
    publish(client, a, ind, tlp="green")
    url = f"/api/objects/{ind['id']}/sightings"
    first = client.post(url, json={"count": 2}, headers=b.headers).json()["sighting"]["id"]
    second = client.post(url, json={"count": 5}, headers=b.headers).json()["sighting"]["id"]
    assert meta(client, a, ind["id"])["score"]["sightings"] == 7
    r = client.post(f"/api/objects/{first}/revoke", headers=b.headers)
    assert r.status_code == 200, r.text
    assert meta(client, a, ind["id"])["sightings"]["sightings"] == 5
    assert meta(client, a, ind["id"])["score"]["sightings"] == 5
    with sessions() as s:
        intel.delete_objects(s, b.principal, second)
        s.commit()
    assert meta(client, a, ind["id"])["score"]["sightings"] == 0
    assert meta(client, a, ind["id"])["sightings"]["sightings"] == 0
