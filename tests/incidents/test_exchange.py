"""Measures, exports (STIX 2.1 incident-core, MISP), TheHive 5 import and requests for
assistance, over REST on both backends."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import stix2
from fastapi.testclient import TestClient

from minga.incidents.interop import INCIDENT_CORE
from tests.conftest import Member
from tests.incidents.conftest import T0, Community, PinnedClock


def _case(client: TestClient, m: Member, **extra: Any) -> int:
    body = {
        "title": "Defacement of ministry site",
        "classification": 'rsit:intrusions="system-compromise"',
        "severity": "medium",
        "tlp": "green",
        "sectors": ["government"],
        "countries": ["CR"],
        "detected_at": T0.isoformat(),
        **extra,
    }
    r = client.post("/api/incidents", json=body, headers=m.headers)
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def test_measures_per_organisation_sector_and_country(
    client: TestClient, community: Community
) -> None:
    c = community
    clock = PinnedClock(T0)
    client.app.state.incident_clock = clock  # type: ignore[attr-defined]
    first = _case(client, c.victim)
    hop = client.post(f"/api/incidents/{first}/escalate", json={"to_org_id": c.isac.org_id},
                      headers=c.victim.headers).json()  # fmt: skip
    clock.at = T0 + timedelta(hours=3)
    client.post(f"/api/incidents/{hop['to_incident_id']}/acknowledge", headers=c.isac.headers)
    for status, hours in (("contained", 6), ("resolved", 30)):
        clock.at = T0 + timedelta(hours=hours)
        r = client.post(f"/api/incidents/{first}/status", json={"status": status},
                        headers=c.victim.headers)  # fmt: skip
        assert r.status_code == 200, r.text
    by_org = client.get("/api/incidents/measures?by=organisation", headers=c.victim.headers)
    got = {(m["group"], m["measure"]): (m["count"], m["median_hours"]) for m in by_org.json()}
    assert got == {
        ("Banco Victima", "contain"): (1, 6.0),
        ("Banco Victima", "resolve"): (1, 30.0),
        ("ISAC Financiero", "acknowledge"): (1, 3.0),
    }
    by_sector = client.get("/api/incidents/measures?by=sector", headers=c.victim.headers).json()
    assert {(m["group"], m["measure"]) for m in by_sector} == {
        ("government", "contain"), ("government", "resolve"), ("government", "acknowledge"),
    }  # fmt: skip
    # The outsider sees none of those incidents, so no measures either.
    assert client.get("/api/incidents/measures", headers=c.outsider.headers).json() == []
    bad = client.get("/api/incidents/measures?by=planet", headers=c.victim.headers)
    assert bad.status_code == 422


def test_exports_are_valid_stix_and_a_misp_event(client: TestClient, community: Community) -> None:
    c = community
    case = _case(client, c.victim, tlp="amber", pap="green", severity="very-high")
    oid = f"indicator--{uuid.uuid4()}"
    ind = {
        "type": "indicator", "spec_version": "2.1", "id": oid,
        "created": "2026-03-01T00:00:00.000Z", "modified": "2026-03-01T00:00:00.000Z",
        "pattern": "[domain-name:value = 'defacer.example']", "pattern_type": "stix",
        "valid_from": "2026-03-01T00:00:00Z",
    }  # fmt: skip
    client.post("/api/objects?tlp=amber&reach=community", json={"objects": [ind]},
                headers=c.victim.headers)  # fmt: skip
    client.post(f"/api/incidents/{case}/records", json={"stix_id": oid, "tlp": "amber"},
                headers=c.victim.headers)  # fmt: skip
    bundle = client.get(f"/api/incidents/{case}/export?format=stix", headers=c.victim.headers)
    assert bundle.status_code == 200
    parsed = stix2.parse(bundle.json(), allow_custom=True)
    incident = next(o for o in parsed.objects if o.type == "incident")
    ext = incident.extensions[INCIDENT_CORE]
    assert ext["investigation_status"] == "new" and ext["determination"] == "suspected"
    assert ext["criticality"] == 100
    assert incident.object_marking_refs == [
        "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"
    ]
    assert oid in {o.id for o in parsed.objects}
    again = client.get(f"/api/incidents/{case}/export", headers=c.victim.headers).json()
    assert next(o for o in again["objects"] if o["type"] == "incident")["id"] == incident.id
    event = client.get(f"/api/incidents/{case}/export?format=misp", headers=c.victim.headers)
    ev = event.json()["Event"]
    assert ev["info"] == "Defacement of ministry site" and ev["threat_level_id"] == "1"
    assert {t["name"] for t in ev["Tag"]} == {
        "tlp:amber",
        "PAP:GREEN",
        'rsit:intrusions="system-compromise"',
    }
    assert [(a["type"], a["value"], a["to_ids"]) for a in ev["Attribute"]] == [
        ("domain", "defacer.example", True)
    ]
    assert (
        client.get(f"/api/incidents/{case}/export", headers=c.outsider.headers).status_code == 404
    )


THEHIVE_CASE = {
    "_id": "~41160",
    "_type": "Case",
    "number": 17,
    "title": "Phishing on payroll",
    "description": "Users received fake payroll e-mails.",
    "severity": 3,
    "startDate": 1772438400000,
    "tags": ['rsit:fraud="phishing"', "payroll"],
    "flag": False,
    "tlp": 2,
    "pap": 1,
    "status": "InProgress",
    "stage": "InProgress",
    "summary": "Credentials of two users entered.",
    "tasks": [
        {"title": "Reset the two passwords", "group": "respond", "status": "Completed"},
        {"title": "Block the sender domain", "group": "default", "status": "Waiting"},
    ],
    "observables": [{"dataType": "domain", "data": "payroll-update.example", "tlp": 2}],
}


def test_thehive_case_import(client: TestClient, community: Community) -> None:
    c = community
    r = client.post("/api/incidents/import/thehive", json=THEHIVE_CASE, headers=c.victim.headers)
    assert r.status_code == 201, r.text
    made = r.json()
    assert (made["title"], made["severity"], made["tlp"], made["pap"], made["status"]) == (
        "Phishing on payroll", "high", "amber", "green", "in-progress",
    )  # fmt: skip
    assert made["detected_at"].startswith("2026-03-02T08:00:00")
    assert "Credentials of two users entered." in made["description"]
    tasks = client.get(f"/api/incidents/{made['id']}/tasks", headers=c.victim.headers).json()
    assert [(t["title"], t["phase"], t["status"]) for t in tasks] == [
        ("Reset the two passwords", "respond", "done"),
        ("Block the sender domain", "", "open"),
    ]
    timeline = client.get(f"/api/incidents/{made['id']}/timeline", headers=c.victim.headers)
    texts = [e["text"] for e in timeline.json()]
    assert "imported from TheHive case #17" in texts
    assert "observable domain: payroll-update.example" in texts
    untagged = {**THEHIVE_CASE, "tags": []}
    r = client.post("/api/incidents/import/thehive", json=untagged, headers=c.victim.headers)
    assert r.status_code == 422 and "classification" in r.json()["message"]
    r = client.post("/api/incidents/import/thehive?classification=fraud:phishing", json=untagged,
                    headers=c.victim.headers)  # fmt: skip
    assert r.status_code == 201


def test_request_for_assistance(client: TestClient, community: Community) -> None:
    c = community
    case = _case(client, c.victim, tlp="amber")
    # The outsider cannot see the case; once asked, it sees what was asked, not the case.
    ask = {"to_org_id": c.outsider.org_id, "what": "Forensic image of the web server"}
    r = client.post(f"/api/incidents/{case}/assistance", json=ask, headers=c.victim.headers)
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    asked = client.get("/api/incidents/assistance", headers=c.outsider.headers).json()
    assert [(a["id"], a["incident_title"], a["status"]) for a in asked] == [(rid, "", "asked")]
    assert client.get(f"/api/incidents/{case}", headers=c.outsider.headers).status_code == 404
    # Only the organisation asked answers.
    r = client.post(f"/api/incidents/assistance/{rid}/answer", json={"accept": True},
                    headers=c.isac.headers)  # fmt: skip
    assert r.status_code == 404
    yes = {"accept": True, "reply": "On it"}
    r = client.post(f"/api/incidents/assistance/{rid}/answer", json=yes, headers=c.outsider.headers)
    assert r.status_code == 200 and r.json()["status"] == "accepted"
    # Accepted: it is assigned, sees the case and has the task.
    assert client.get(f"/api/incidents/{case}", headers=c.outsider.headers).status_code == 200
    mine = client.get("/api/incidents/tasks", headers=c.outsider.headers).json()
    assert [t["title"] for t in mine] == ["Forensic image of the web server"]
    again = client.post(f"/api/incidents/assistance/{rid}/answer", json={"accept": False},
                        headers=c.outsider.headers)  # fmt: skip
    assert again.status_code == 409
