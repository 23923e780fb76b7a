"""Writes are no existence oracle: a hidden id answers as an unknown one, and the writer's own
copy is stored; readers that may see several copies get each version once."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from minga.intel import service
from tests.conftest import Member, add_member
from tests.factories import indicator
from tests.taxii.conftest import OBJECTS, post_envelope, taxii_headers

IP = "203.0.113.7"


def ipv4(value: str = IP) -> dict[str, Any]:
    """An observable whose id derives from its value (STIX 2.1 deterministic id)."""
    ns = uuid.UUID("00abedb4-aa42-466c-9c01-fed23315a9b7")
    name = '{"value":"' + value + '"}'
    return {
        "type": "ipv4-addr",
        "spec_version": "2.1",
        "id": f"ipv4-addr--{uuid.uuid5(ns, name)}",
        "value": value,
    }


def _post(client: TestClient, member: Member, obj: Any, **params: str) -> Any:
    return client.post("/api/objects", params=params, json=obj, headers=member.headers)


def _answer(r: Any) -> tuple[int, Any]:
    return r.status_code, {k: [e["version"] for e in v] for k, v in r.json().items()}


def test_a_hidden_id_answers_as_an_unknown_one_and_stores_your_copy(
    client: TestClient, sessions: sessionmaker[Session]
):
    a, b = add_member(sessions, "Org A"), add_member(sessions, "Org B")
    hidden = indicator(1, name="A's own")
    assert _post(client, a, hidden, reach="organisation").status_code == 201

    theirs = indicator(1, name="B's own")
    unknown = indicator(2, name="B's own")
    assert _answer(_post(client, b, theirs)) == _answer(_post(client, b, unknown))
    got = client.get(f"/api/objects/{theirs['id']}", headers=b.headers).json()
    assert (got["object"]["name"], got["meta"]["owner"]["id"]) == ("B's own", b.org_id)
    mine = client.get(f"/api/objects/{hidden['id']}", headers=a.headers).json()
    assert mine["object"]["name"] == "A's own"  # A may see B's copy too: A's was stored first

    # A new version of a hidden object: stored as B's, as for an unknown id.
    v2 = indicator(3, modified="2024-03-02T00:00:00.000Z")
    assert _post(client, a, v2, reach="organisation").status_code == 201
    later = indicator(3, modified="2024-03-03T00:00:00.000Z", name="B's later")
    assert _answer(_post(client, b, later)) == _answer(
        _post(client, b, indicator(4, modified="2024-03-03T00:00:00.000Z"))
    )
    # The same re-post, now that it is B's own, is "existing"; TAXII says success for both.
    assert _post(client, b, later).status_code == 200
    assert _post(client, a, indicator(6), reach="organisation").status_code == 201
    status = post_envelope(client, b.token, [indicator(6), indicator(5)]).json()
    assert (status["success_count"], status["failure_count"]) == (2, 0)


def test_a_visible_object_keeps_its_owner(client: TestClient, sessions: sessionmaker[Session]):
    a, b = add_member(sessions, "Org A"), add_member(sessions, "Org B")
    assert _post(client, a, indicator(1), tlp="green").status_code == 201
    # B sees A's object: the same version is "existing", other content a conflict...
    assert _post(client, b, indicator(1)).status_code == 200
    assert _post(client, b, indicator(1, name="x")).status_code == 409
    # ...and only A versions it.
    later = indicator(1, modified="2024-03-02T00:00:00.000Z")
    assert _post(client, b, later).status_code == 403


def test_value_derived_observables_are_held_by_each_organisation(
    client: TestClient, sessions: sessionmaker[Session]
):
    a, b, c = (add_member(sessions, n) for n in ("Org A", "Org B", "Org C"))
    assert _post(client, a, ipv4(), reach="organisation").status_code == 201
    r = _post(client, b, ipv4(), reach="organisation")
    assert _answer(r) == _answer(_post(client, b, ipv4("198.51.100.9"), reach="organisation"))
    for member in (a, b):
        got = client.get(f"/api/objects/{ipv4()['id']}", headers=member.headers).json()
        assert got["meta"]["owner"]["id"] == member.org_id
    assert client.get(f"/api/objects/{ipv4()['id']}", headers=c.headers).status_code == 404

    # C now may see both copies (A's and B's shared with the community): C gets it once.
    with sessions() as s:
        service.create_objects(s, a.principal, [ipv4("192.0.2.1")])  # an unrelated one
        s.commit()
    assert _post(client, c, ipv4()).status_code == 201  # C's own copy, community-wide
    listed = client.get("/api/objects?type=ipv4-addr", headers=a.headers).json()["objects"]
    ids = [o["object"]["id"] for o in listed]
    assert sorted(ids) == sorted({ipv4()["id"], ipv4("192.0.2.1")["id"]})
    assert listed[[o["object"]["id"] for o in listed].index(ipv4()["id"])]["meta"]["owner"][
        "id"
    ] in (a.org_id, c.org_id)


def test_a_reader_of_several_copies_gets_each_version_once(
    client: TestClient, sessions: sessionmaker[Session]
):
    a, b, c = (add_member(sessions, n) for n in ("Org A", "Org B", "Org C"))
    v1 = indicator(1)
    v2 = indicator(1, modified="2024-03-02T00:00:00.000Z")
    assert _post(client, a, v1, reach="organisation").status_code == 201
    assert _post(client, b, v1).status_code == 201  # B's copy, A's was hidden from B
    assert _post(client, a, v2).status_code == 201  # A's next version, community-wide
    for n in range(2, 6):
        assert _post(client, b, indicator(n)).status_code == 201

    # Latest only: one row for the id, its newest version.
    listed = client.get("/api/objects?type=indicator", headers=c.headers).json()["objects"]
    latest = [o["meta"]["version"] for o in listed if o["object"]["id"] == v1["id"]]
    assert latest == [v2["modified"]]
    versions = client.get(f"/api/objects/{v1['id']}/versions", headers=c.headers).json()
    assert [v["meta"]["version"] for v in versions["versions"]] == [v1["modified"], v2["modified"]]

    # Every version, paged by TAXII `next` and resumed by `added_after`: each once.
    seen: list[tuple[str, str]] = []
    params: dict[str, Any] = {"limit": 2, "match[version]": "all", "match[type]": "indicator"}
    while True:
        r = client.get(OBJECTS, params=params, headers=taxii_headers(c.token))
        body = r.json()
        seen += [(o["id"], o["modified"]) for o in body.get("objects", [])]
        if not body.get("more"):
            break
        params["next"] = body["next"]
    expected = [(v1["id"], v1["modified"]), (v1["id"], v2["modified"])]
    expected += [(indicator(n)["id"], v1["modified"]) for n in range(2, 6)]
    assert sorted(seen) == sorted(expected)
    count = client.get("/api/objects?type=indicator&limit=1000", headers=a.headers).json()
    assert len(count["objects"]) == 5


def test_deleting_and_revoking_touch_only_your_own_copy(
    client: TestClient, sessions: sessionmaker[Session]
):
    a, b = add_member(sessions, "Org A"), add_member(sessions, "Org B")
    assert _post(client, a, indicator(1), reach="organisation").status_code == 201
    assert _post(client, b, indicator(1, name="B's")).status_code == 201
    revoked = client.post(f"/api/objects/{indicator(1)['id']}/revoke", headers=b.headers).json()
    assert (revoked["meta"]["owner"]["id"], revoked["object"]["revoked"]) == (b.org_id, True)
    with sessions() as s:
        gone = service.delete_objects(s, b.principal, indicator(1)["id"])
        s.commit()
    assert {g.owner_org_id for g in gone} == {b.org_id} and len(gone) == 2
    got = client.get(f"/api/objects/{indicator(1)['id']}", headers=a.headers).json()
    assert (got["meta"]["owner"]["id"], got["meta"]["latest"]) == (a.org_id, True)


def test_the_first_version_is_the_first_you_may_see(
    client: TestClient, sessions: sessionmaker[Session]
):
    a, b, c = (add_member(sessions, n) for n in ("Org A", "Org B", "Org C"))
    later = indicator(1, modified="2024-03-02T00:00:00.000Z")
    assert _post(client, a, indicator(1), reach="organisation").status_code == 201
    assert _post(client, b, later).status_code == 201  # B's copy starts at a later version
    params = {"match[version]": "first", "match[type]": "indicator"}
    r = client.get(OBJECTS, params=params, headers=taxii_headers(c.token))
    assert [(o["id"], o["modified"]) for o in r.json()["objects"]] == [
        (later["id"], later["modified"])
    ]
