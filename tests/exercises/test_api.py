"""REST of drills: a run through `/api/exercises`, bad input answered 4xx with a sentence,
every exercise answer marked, exercise content absent from the real REST lists and exports."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.exercises.conftest import T0, Drill, at_minute
from tests.incidents.conftest import PinnedClock

PHISHING = "isac-phishing-ransomware"


def _error(r: Any, code: int) -> str:
    assert r.status_code == code, r.text
    message: str = r.json()["message"]
    assert message
    return message


def test_a_run_over_rest(client: TestClient, drill: Drill) -> None:
    clock = PinnedClock(T0)
    client.app.state.incident_clock = clock  # type: ignore[attr-defined]
    d, a, b = drill.director.headers, drill.team_a.headers, drill.team_b.headers
    body = {"scenario": PHISHING, "name": "ISAC tabletop", "lang": "pt", "speed": 60,
            "teams": [drill.team_a.org_id, drill.team_b.org_id],
            "evaluators": [drill.evaluator.user_id]}  # fmt: skip
    # Bad input: 4xx with a message, never a 500.
    assert "no scenario" in _error(
        client.post("/api/exercises", json={**body, "scenario": "x"}, headers=d), 404
    )
    assert "speed" in _error(
        client.post("/api/exercises", json={**body, "speed": 1000}, headers=d), 422
    )
    assert "no organisation" in _error(
        client.post("/api/exercises", json={**body, "teams": [99999]}, headers=d), 422
    )
    assert "lang" in _error(
        client.post("/api/exercises", json={**body, "lang": "fr"}, headers=d), 422
    )
    _error(client.post("/api/exercises", json={**body, "teams": []}, headers=d), 422)
    _error(client.post("/api/exercises", json=body, headers=a), 403)  # an analyst
    created = client.post("/api/exercises", json=body, headers=d)
    assert created.status_code == 201, created.text
    ex = created.json()
    ref, eid = ex["x_minga_exercise"], ex["id"]
    assert created.headers["X-Minga-Exercise"] == ref and ex["status"] == "planned"
    _error(client.post(f"/api/exercises/{eid}/start", headers=a), 403)
    _error(client.post(f"/api/exercises/{eid}/pause", headers=d), 409)
    _error(client.post(f"/api/exercises/{eid}/jump", headers=d), 422)
    _error(client.get(f"/api/exercises/{eid}", headers=drill.outsider.headers), 404)
    started = client.post(f"/api/exercises/{eid}/start", headers=d)
    assert started.json()["status"] == "running"
    inbox = client.get(f"/api/exercises/{eid}/inbox", headers=a)
    assert inbox.headers["X-Minga-Exercise"] == ref
    [p1] = inbox.json()
    assert p1["inject"] == "p1" and p1["kind"] == "email" and p1["x_minga_exercise"] == ref
    assert p1["subject"].startswith("Relato de um funcionário")
    _error(client.post(f"/api/exercises/{eid}/inbox/{p1['id']}/acknowledge", headers=b), 404)
    clock.at = at_minute(5)
    acked = client.post(f"/api/exercises/{eid}/inbox/{p1['id']}/acknowledge", headers=a)
    assert acked.json()["acknowledged_at"] is not None
    case = {"title": "Phishing wave", "classification": "fraud:phishing", "severity": "medium"}
    _error(
        client.post(f"/api/exercises/{eid}/incidents", json={**case, "severity": "x"}, headers=a),
        422,
    )
    opened = client.post(f"/api/exercises/{eid}/incidents", json=case, headers=a)
    assert opened.status_code == 201 and opened.headers["X-Minga-Exercise"] == ref
    incident_id = opened.json()["id"]
    assert incident_id not in [i["id"] for i in client.get("/api/incidents", headers=a).json()]
    assert [i["id"] for i in client.get(f"/api/exercises/{eid}/incidents", headers=a).json()] == [
        incident_id
    ]
    clock.at = at_minute(16)
    delivered = {
        x["inject"]: x for x in client.get(f"/api/exercises/{eid}/inbox", headers=a).json()
    }
    assert set(delivered) == {"p1", "p2"}
    stamp = "2026-05-08T14:00:16.000Z"
    mine = {"type": "indicator", "spec_version": "2.1",
            "id": "indicator--1f0c1d4e-7a3b-4c55-9e21-2b4f6c1d9a01", "created": stamp,
            "modified": stamp, "valid_from": stamp, "pattern_type": "stix",
            "pattern": "[domain-name:value = 'facturas-pago.example']"}  # fmt: skip
    _error(
        client.post(f"/api/exercises/{eid}/objects", json={"objects": [{"type": "x"}]}, headers=a),
        422,
    )
    published = client.post(f"/api/exercises/{eid}/objects", json={"objects": [mine]}, headers=a)
    assert published.status_code == 201 and published.json()["ids"] == [mine["id"]]
    space = client.get(f"/api/exercises/{eid}/objects", headers=a).json()
    assert {o["x_minga_exercise"] for o in space["objects"]} == {ref} and len(space["objects"]) == 2
    real_one = {**mine, "id": "indicator--1f0c1d4e-7a3b-4c55-9e21-2b4f6c1d9a02",
                "pattern": "[domain-name:value = 'real-bad.example']"}  # fmt: skip
    assert client.post("/api/objects", json=real_one, headers=a).status_code == 201
    listed = client.get("/api/objects", headers=a).text
    assert real_one["id"] in listed and mine["id"] not in listed
    clock.at = at_minute(31)
    q = {x["inject"]: x for x in client.get(f"/api/exercises/{eid}/inbox", headers=a).json()}["p3"]
    _error(
        client.post(f"/api/exercises/{eid}/inbox/{q['id']}/answer", json={"answer": ""}, headers=a),
        422,
    )
    client.post(
        f"/api/exercises/{eid}/inbox/{q['id']}/answer", json={"answer": "t1566.001"}, headers=a
    )
    _error(
        client.post(
            f"/api/exercises/{eid}/inbox/{q['id']}/answer", json={"answer": "x"}, headers=a
        ),
        409,
    )
    clock.at = at_minute(90)
    ended = client.post(f"/api/exercises/{eid}/end", headers=d).json()
    scores = {t["name"]: t["points"] for t in ended["teams"]}
    assert scores == {"CSIRT Hacienda": 60, "CSIRT Aduanas": 0}  # ack, incident, publish, answer
    outcomes = client.get(f"/api/exercises/{eid}/outcomes", headers=d).json()
    manual = next(
        o for o in outcomes if o["kind"] == "manual" and o["org_id"] == drill.team_b.org_id
    )
    _error(
        client.post(
            f"/api/exercises/{eid}/outcomes/{manual['id']}", json={"status": "met"}, headers=a
        ),
        403,
    )
    _error(
        client.post(
            f"/api/exercises/{eid}/outcomes/{manual['id']}", json={"status": "great"}, headers=d
        ),
        422,
    )
    verdict = {"status": "met", "note": "clear press line"}
    decided = client.post(f"/api/exercises/{eid}/outcomes/{manual['id']}", json=verdict,
                          headers=drill.evaluator.headers)  # fmt: skip
    assert decided.json()["points"] == 10
    # Lessons, improvement actions tracked to closure, the report.
    _error(
        client.post(f"/api/exercises/{eid}/lessons", json={"answers": {"nope": "x"}}, headers=b),
        422,
    )
    assert (
        client.post(
            f"/api/exercises/{eid}/lessons", json={"answers": {"gaps": "contacts"}}, headers=b
        ).status_code
        == 204
    )
    action = client.post(
        f"/api/exercises/{eid}/actions",
        json={"org_id": drill.team_b.org_id, "title": "Phone tree"},
        headers=d,
    )
    assert action.status_code == 201
    aid = action.json()["id"]
    assert [x["id"] for x in client.get("/api/exercises/actions", headers=b).json()] == [aid]
    assert client.get("/api/exercises/actions", headers=a).json() == []
    _error(
        client.patch(f"/api/exercises/actions/{aid}", json={"status": "done"}, headers=b), 403
    )  # analyst
    _error(client.patch(f"/api/exercises/actions/{aid}", json={"status": "closed"}, headers=d), 422)
    done = client.patch(f"/api/exercises/actions/{aid}", json={"status": "done"}, headers=d).json()
    assert done["status"] == "done" and done["closed_at"] is not None
    pdf = client.get(f"/api/exercises/{eid}/report?lang=es&format=pdf", headers=d)
    assert (
        pdf.headers["content-type"] == "application/pdf" and pdf.headers["X-Minga-Exercise"] == ref
    )
    html = client.get(f"/api/exercises/{eid}/report?lang=es", headers=d).text
    assert "Informe posterior al ejercicio" in html and "Phone tree" in html and "contacts" in html
    _error(client.get(f"/api/exercises/{eid}/report?lang=fr", headers=d), 422)


def test_scenarios_over_rest(client: TestClient, drill: Drill) -> None:
    d = drill.director.headers
    listed = {s["key"]: s for s in client.get("/api/scenarios", headers=d).json()}
    assert set(listed) >= {"costa-rica-2022-ransomware", PHISHING}
    doc = client.get(f"/api/scenarios/{PHISHING}", headers=d).json()
    assert (
        doc["format"] == "minga-scenario/1" and len(doc["injects"]) == listed[PHISHING]["injects"]
    )
    _error(client.post("/api/scenarios", json=doc, headers=d), 409)  # the key is taken
    copy = {**doc, "key": "shared-by-hub"}
    assert client.post("/api/scenarios", json=copy, headers=drill.team_a.headers).status_code == 403
    assert client.post("/api/scenarios", json=copy, headers=d).status_code == 201
    broken = {
        **doc,
        "key": "broken",
        "injects": [{**doc["injects"][0], "kind": "fax"}, {"key": "x"}],
    }
    r = client.post("/api/scenarios", json=broken, headers=d)
    message = _error(r, 422)
    details = r.json()["details"]
    assert "problem" in message and "injects[0].kind: one of incident" in details[0]
    assert any(p.startswith("injects[1]: give either at_minutes or when") for p in details)
    _error(client.get("/api/scenarios/nope", headers=d), 404)
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/scenarios", "/api/exercises", "/api/exercises/{exercise_id}/report"} <= set(paths)
