"""REST: GET/POST /api/correlations, GET /api/objects/{id}/correlations, exclusions and
warninglists (node operator only), on both backends."""

from __future__ import annotations

import orjson
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from minga.accounts import service as accounts
from minga.accounts.node import set_operator_org
from tests.conftest import Member, add_member
from tests.factories import indicator, sid


def _operator(sessions: sessionmaker[Session]) -> Member:
    with sessions() as s:
        org = accounts.create_organisation(
            s, None, name="Node CSIRT", country="PA", sector="government", kind="csirt"
        )
        set_operator_org(s, org.id)
        user = accounts.create_user(s, None, org_id=org.id, name="operator", role="admin")
        _, issued = accounts.issue_token(s, None, user_id=user.id)
        principal = accounts.principal_for(s, user)
        s.commit()
    return Member(org.id, user.id, issued.token, principal)


def _publish(client: TestClient, member: Member, n: int, pattern: str, tlp: str = "green") -> None:
    r = client.post(
        "/api/objects",
        json=indicator(n, pattern=pattern),
        params={"tlp": tlp},
        headers=member.headers,
    )
    assert r.status_code == 201, r.text


def test_correlations_of_values_and_objects(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    cr = add_member(sessions, "CSIRT-CR", country="CR")
    gt = add_member(sessions, "CSIRT-GT", country="GT")
    _publish(client, cr, 1, "[ipv4-addr:value = '45.155.205.7']")
    _publish(client, gt, 2, "[ipv4-addr:value = '45.155.205.0/24']")
    _publish(client, gt, 3, "[ipv4-addr:value = '45.155.205.7']", tlp="red")  # not for CR
    r = client.get(
        "/api/correlations", params={"value": ["45.155.205.7", "nothing.example"]},
        headers=cr.headers,
    )  # fmt: skip
    assert r.status_code == 200
    first, second = r.json()["values"]
    assert (first["kind"], first["objects"], first["organisations"], first["countries"]) == (
        "ipv4", 2, 2, 2,
    )  # fmt: skip
    assert {(m["stix_id"], m["relation"]) for m in first["matches"]} == {
        (sid("indicator", 1), "same"),
        (sid("indicator", 2), "contains"),
    }
    assert second["objects"] == 0 and second["warninglists"] == ["Minga benign values"]
    many = client.post(
        "/api/correlations", json={"values": ["45.155.205.0/24"]}, headers=cr.headers
    )
    assert {m["stix_id"] for m in many.json()["values"][0]["matches"]} == {
        sid("indicator", 1),
        sid("indicator", 2),
    }
    own = client.get(f"/api/objects/{sid('indicator', 1)}/correlations", headers=cr.headers)
    assert own.status_code == 200
    [value] = own.json()["values"]
    assert [(m["stix_id"], m["organisation"]) for m in value["matches"]] == [
        (sid("indicator", 2), "CSIRT-GT")
    ]
    hidden = client.get(f"/api/objects/{sid('indicator', 3)}/correlations", headers=cr.headers)
    assert hidden.status_code == 404
    bad = client.get("/api/correlations", params={"value": "   "}, headers=cr.headers)
    assert bad.status_code == 200 and bad.json()["values"] == []  # blank lines are skipped
    assert client.get("/api/correlations", params={"value": "x"}).status_code == 401
    garbage = client.post("/api/correlations", content=b"{", headers=cr.headers)
    assert garbage.status_code == 422 and "values" in garbage.json()["message"]


def test_exclusions_and_warninglists_are_the_operators(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    analyst = add_member(sessions, "CSIRT-CR")
    operator = _operator(sessions)
    body = {"value": "45.155.205.7", "reason": "sinkhole"}
    refused = client.post("/api/correlations/exclusions", json=body, headers=analyst.headers)
    assert refused.status_code == 403
    made = client.post("/api/correlations/exclusions", json=body, headers=operator.headers)
    assert made.status_code == 201 and made.json()["value"] == "45.155.205.7"
    again = client.post("/api/correlations/exclusions", json=body, headers=operator.headers)
    assert again.status_code == 409
    listed = client.get("/api/correlations/exclusions", headers=analyst.headers).json()
    assert [e["value"] for e in listed["exclusions"]] == ["45.155.205.7"]
    found = client.get(
        "/api/correlations", params={"value": "45.155.205.7"}, headers=analyst.headers
    )
    assert found.json()["values"][0]["excluded"] is True
    gone = client.delete(
        f"/api/correlations/exclusions/{made.json()['id']}", headers=operator.headers
    )
    assert gone.status_code == 200
    doc = {"name": "CDN", "type": "cidr", "list": ["45.155.205.0/24"], "version": 3}
    refused = client.post("/api/warninglists", content=orjson.dumps(doc), headers=analyst.headers)
    assert refused.status_code == 403
    imported = client.post("/api/warninglists", content=orjson.dumps(doc), headers=operator.headers)
    assert imported.status_code == 201 and imported.json()["entries"] == 1
    bad = client.post("/api/warninglists", content=b'{"name": "x"}', headers=operator.headers)
    assert bad.status_code == 422
    found = client.get(
        "/api/correlations", params={"value": "45.155.205.9"}, headers=analyst.headers
    )
    assert found.json()["values"][0]["warninglists"] == ["CDN"]
    lists = client.get("/api/warninglists", headers=analyst.headers).json()["warninglists"]
    assert [w["name"] for w in lists] == ["CDN"]
    removed = client.delete(f"/api/warninglists/{lists[0]['id']}", headers=operator.headers)
    assert removed.status_code == 200
