"""Sensor alerts on the node: reported by a member's sensor (idempotent), seen by its own
organisation only, reviewed into an indicator or an incident or dismissed (audit-logged)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from minga.audit import AuditEntry
from minga.sensor.alerts import Alert
from tests.conftest import Member, add_member
from tests.web.conftest import csrf_of, sign_in

FIRST = datetime(2025, 12, 2, 10, 0, tzinfo=UTC)


def _alert(**changes: Any) -> dict[str, Any]:
    alert = Alert(
        detector="dns-tunnel",
        score=0.87,
        reason="long random labels under one domain (entropy 4.6 bits)",
        first_seen=FIRST,
        last_seen=FIRST.replace(minute=40),
        source="10.1.1.20",
        destination="t.exfil-example.net",
        count=412,
        features={"label_entropy": 4.6, "queries_per_min": 31.0},
        evidence={"sample": ["a9f3k2.t.exfil-example.net"]},
    )
    return {**alert.as_json(), **changes}


@pytest.fixture
def sensor(sessions: sessionmaker[Session]) -> Member:
    return add_member(sessions, "Sensor Org", role="machine")


@pytest.fixture
def analyst(sessions: sessionmaker[Session], sensor: Member) -> Member:
    from minga.accounts import service as accounts

    with sessions() as s:
        user = accounts.create_user(s, None, org_id=sensor.org_id, name="ana", role="analyst")
        _, issued = accounts.issue_token(s, None, user_id=user.id)
        principal = accounts.principal_for(s, user)
        s.commit()
    return Member(sensor.org_id, user.id, issued.token, principal)


def test_report_is_idempotent_and_stays_with_the_organisation(
    client: TestClient, sessions: sessionmaker[Session], sensor: Member, analyst: Member
):
    body = {"alerts": [_alert(id="a-1"), _alert(detector="dga", id="a-2")]}
    first = client.post("/api/sensor/alerts", json=body, headers=sensor.headers)
    assert first.status_code == 201, first.text
    assert [c["id"] for c in first.json()["created"]] == ["a-1", "a-2"]
    again = client.post("/api/sensor/alerts", json=body, headers=sensor.headers)
    assert again.status_code == 200 and again.json()["created"] == []
    assert again.json()["existing"] == first.json()["created"]
    # without an id, the content names it: the same alert sent twice is one alert
    plain = client.post("/api/sensor/alerts", json=_alert(count=7), headers=sensor.headers)
    assert plain.status_code == 201
    twice = client.post("/api/sensor/alerts", json=[_alert(count=7)], headers=sensor.headers)
    assert twice.status_code == 200 and twice.json()["existing"] == plain.json()["created"]
    listed = client.get("/api/sensor/alerts", headers=analyst.headers).json()["alerts"]
    assert sorted(a["client_id"] for a in listed) == sorted(
        ["a-1", "a-2", plain.json()["created"][0]["id"]]
    )
    one = listed[-1]
    assert one["features"] == {"label_entropy": 4.6, "queries_per_min": 31.0}
    assert one["status"] == "open" and one["first_seen"].startswith("2025-12-02T10:00")
    stranger = add_member(sessions, "Elsewhere")
    assert client.get("/api/sensor/alerts", headers=stranger.headers).json() == {"alerts": []}
    hidden = client.get(f"/api/sensor/alerts/{one['id']}", headers=stranger.headers)
    unknown = client.get("/api/sensor/alerts/999999", headers=stranger.headers)
    assert hidden.status_code == unknown.status_code == 404
    assert hidden.json() == unknown.json()


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (b"", "empty"),
        (b"{not json", "not valid JSON"),
        (b'{"alerts": 3}', "alerts must be a list"),
        (b'{"alerts": []}', "send 1 to"),
        (b'[{"detector": "x"}]', "score is missing"),
        (b"[7]", "an alert is a JSON object"),
    ],
)
def test_bad_reports_are_4xx(client: TestClient, sensor: Member, body: bytes, needle: str):
    r = client.post("/api/sensor/alerts", content=body, headers=sensor.headers)
    assert r.status_code == 422 and needle in r.json()["message"], r.text


@pytest.mark.parametrize(
    ("changes", "needle"),
    [
        ({"score": 1.5}, "between 0 and 1"),
        ({"last_seen": "2025-12-01T00:00:00+00:00"}, "before its first_seen"),
        ({"reason": ""}, "reason is a sentence"),
        ({"count": 0}, "count is a whole number"),
        ({"id": "no spaces allowed"}, "id is 1 to 64"),
        ({"first_seen": "yesterday"}, "Invalid isoformat"),
        ({"features": {"x": "high"}}, "could not convert"),
        ({"features": {"x": "nan"}}, "finite numbers"),
    ],
)
def test_bad_alerts_say_why(client: TestClient, sensor: Member, changes: dict, needle: str):
    r = client.post("/api/sensor/alerts", json=_alert(**changes), headers=sensor.headers)
    assert r.status_code == 422 and needle in r.json()["message"], r.text


def test_readers_report_nothing_and_review_nothing(
    client: TestClient, sessions: sessionmaker[Session], sensor: Member
):
    reader = add_member(sessions, "Readers", role="reader")
    r = client.post("/api/sensor/alerts", json=_alert(), headers=reader.headers)
    assert r.status_code == 403
    created = client.post("/api/sensor/alerts", json=_alert(), headers=sensor.headers).json()
    alert_id = created["created"][0]["alert"]
    r = client.post(
        f"/api/sensor/alerts/{alert_id}/dismiss", json={"reason": "x"}, headers=sensor.headers
    )
    assert r.status_code == 403  # the machine account reports; people review


def test_review_into_indicator_incident_and_dismissal(
    client: TestClient, sessions: sessionmaker[Session], sensor: Member, analyst: Member
):
    sent = client.post(
        "/api/sensor/alerts",
        json=[
            _alert(id="i"),
            _alert(id="c", first_seen="1970-01-01T00:00:13+00:00"),
            _alert(id="d"),
        ],
        headers=sensor.headers,
    ).json()["created"]
    ids = {c["id"]: c["alert"] for c in sent}
    r = client.post(
        f"/api/sensor/alerts/{ids['i']}/indicator",
        json={"name": "DNS tunnel endpoint", "tlp": "green"},
        headers=analyst.headers,
    )
    assert r.status_code == 201, r.text
    stix_id = r.json()["indicator"]
    obj = client.get(f"/api/objects/{stix_id}", headers=analyst.headers).json()
    assert obj["object"]["pattern"] == "[domain-name:value = 't.exfil-example.net']"
    assert obj["meta"]["tlp"] == "green" and r.json()["alert"]["status"] == "indicator"
    again = client.post(
        f"/api/sensor/alerts/{ids['i']}/dismiss", json={"reason": "x"}, headers=analyst.headers
    )
    assert again.status_code == 409
    r = client.post(
        f"/api/sensor/alerts/{ids['c']}/incident",
        json={"title": "Tunnel from 10.1.1.20", "classification": "malicious-code:infected-system",
              "severity": "high"},
        headers=analyst.headers,
    )  # fmt: skip
    assert r.status_code == 201, r.text
    incident = client.get(f"/api/incidents/{r.json()['incident']}", headers=analyst.headers)
    assert incident.json()["title"] == "Tunnel from 10.1.1.20"
    r = client.post(
        f"/api/sensor/alerts/{ids['d']}/dismiss",
        json={"reason": "the backup job"},
        headers=analyst.headers,
    )
    assert r.json()["status"] == "dismissed" and r.json()["decision_note"] == "the backup job"
    with sessions() as s:
        actions = set(
            s.scalars(select(AuditEntry.action).where(AuditEntry.org_id == sensor.org_id))
        )
    assert {"sensor.alerts.receive", "sensor.alert.indicator", "sensor.alert.incident",
            "sensor.alert.dismissed"} <= actions  # fmt: skip


def test_review_page(client: TestClient, sensor: Member, analyst: Member):
    sent = client.post("/api/sensor/alerts", json=_alert(id="p"), headers=sensor.headers)
    alert_id = sent.json()["created"][0]["alert"]
    sign_in(client, analyst.token)
    listing = client.get("/sensor/alerts")
    assert listing.status_code == 200 and f"/sensor/alerts/{alert_id}" in listing.text
    page = client.get(f"/sensor/alerts/{alert_id}?lang=es")
    assert page.status_code == 200
    assert "Convertirla en un indicador" in page.text and "label_entropy" in page.text
    assert "[domain-name:value = &#39;t.exfil-example.net&#39;]" in page.text
    csrf = csrf_of(page.text)
    bad = client.post(f"/sensor/alerts/{alert_id}/dismiss", data={"csrf": csrf, "reason": " "})
    assert bad.status_code == 422 and "say why" in bad.text
    done = client.post(
        f"/sensor/alerts/{alert_id}/indicator",
        data={"csrf": csrf, "pattern": "[ipv4-addr:value = '203.0.113.9']", "name": "Tunnel",
              "tlp": "amber", "reach": "community"},
        follow_redirects=False,
    )  # fmt: skip
    assert done.status_code == 303 and done.headers["location"].startswith("/objects/indicator--")
    after = client.get(f"/sensor/alerts/{alert_id}")
    assert "Turn it into an indicator" not in after.text and "/objects/indicator--" in after.text
