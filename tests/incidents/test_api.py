"""REST `/api/incidents` and `/api/playbooks`, on both backends: the chain victim → sector ISAC
→ national CSIRT on one node with acknowledgement deadlines on a pinned clock, attachments
served only as downloads, linked records, and errors as JSON 4xx."""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import Member
from tests.incidents.conftest import T0, Community, PinnedClock


def _create(client: TestClient, m: Member, **extra: Any) -> dict[str, Any]:
    body = {
        "title": "Ransomware at Banco Victima",
        "classification": 'rsit:malicious-code="infected-system"',
        "severity": "very-high",
        "description": "File servers encrypted; note from a known family.",
        "tlp": "amber",
        "pap": "amber",
        "sectors": ["finance"],
        "countries": ["CR"],
        **extra,
    }
    r = client.post("/api/incidents", json=body, headers=m.headers)
    assert r.status_code == 201, r.text
    return r.json()


def _publish(client: TestClient, m: Member, value: str) -> str:
    oid = f"indicator--{uuid.uuid4()}"
    obj = {
        "type": "indicator",
        "spec_version": "2.1",
        "id": oid,
        "created": "2026-03-01T00:00:00.000Z",
        "modified": "2026-03-01T00:00:00.000Z",
        "pattern": f"[ipv4-addr:value = '{value}']",
        "pattern_type": "stix",
        "valid_from": "2026-03-01T00:00:00Z",
    }
    r = client.post(
        "/api/objects?tlp=amber&reach=community", json={"objects": [obj]}, headers=m.headers
    )
    assert r.status_code in (200, 201), r.text
    return oid


def test_escalation_chain_on_one_node_with_deadlines(
    client: TestClient, community: Community
) -> None:
    c = community
    clock = PinnedClock(T0)
    client.app.state.incident_clock = clock  # type: ignore[attr-defined]
    first = _create(client, c.victim, detected_at=T0.isoformat())
    ioc = _publish(client, c.victim, "203.0.113.66")
    r = client.post(
        f"/api/incidents/{first['id']}/records",
        json={"stix_id": ioc, "tlp": "amber", "pap": "green"},
        headers=c.victim.headers,
    )
    assert r.status_code == 201, r.text

    # Hop 1: victim → sector ISAC, sharing the indicator, withholding the description.
    r = client.post(
        f"/api/incidents/{first['id']}/escalate",
        json={
            "to_org_id": c.isac.org_id,
            "tlp": "amber",
            "pap": "amber",
            "share": [ioc],
            "redact": ["description"],
            "ack_hours": 2,
        },
        headers=c.victim.headers,
    )
    assert r.status_code == 201, r.text
    hop1 = r.json()
    assert hop1["state"] == "pending" and hop1["to_org"] == "ISAC Financiero"
    assert hop1["ack_due_at"].startswith("2026-03-02T10:00:00")
    isac_case = client.get(f"/api/incidents/{hop1['to_incident_id']}", headers=c.isac.headers)
    assert isac_case.status_code == 200
    body = isac_case.json()
    assert body["description"] == "" and body["parent_id"] == first["id"]
    assert body["organisation"] == "ISAC Financiero"
    assert {"org_id": c.victim.org_id, "name": "Banco Victima", "role": "reporter"} in body[
        "organisations"
    ]
    records = client.get(f"/api/incidents/{body['id']}/records", headers=c.isac.headers).json()
    assert [(x["stix_id"], x["tlp"], x["pap"]) for x in records] == [(ioc, "amber", "amber")]
    # The ISAC's "my deadlines" shows the acknowledgement; at 1 h it is a reminder.
    clock.at = T0 + timedelta(hours=1)
    due = client.get("/api/incidents/deadlines", headers=c.isac.headers).json()
    ack = [d for d in due if d["kind"] == "acknowledge"]
    assert ack == [
        {
            "kind": "acknowledge",
            "incident_id": body["id"],
            "incident_title": "Ransomware at Banco Victima",
            "what": "acknowledge the escalation",
            "due_at": ack[0]["due_at"],
            "state": "reminder",
        }
    ]
    # At 3 h it is overdue: the victim sees it waiting, the coordinator sees it overdue.
    clock.at = T0 + timedelta(hours=3)
    victim_due = client.get("/api/incidents/deadlines", headers=c.victim.headers).json()
    assert ("awaiting", "overdue") in {(d["kind"], d["state"]) for d in victim_due}
    coordinator = client.get("/api/incidents/deadlines", headers=c.csirt.headers).json()
    assert [(d["kind"], d["incident_id"]) for d in coordinator if d["kind"] == "overdue-hop"] == [
        ("overdue-hop", body["id"])
    ]
    r = client.post(f"/api/incidents/{body['id']}/acknowledge", headers=c.isac.headers)
    assert r.status_code == 200 and r.json()["state"] == "acknowledged"
    again = client.post(f"/api/incidents/{body['id']}/acknowledge", headers=c.isac.headers)
    assert again.status_code == 409
    # The victim cannot acknowledge for the ISAC, nor escalate the ISAC's case.
    r = client.post(
        f"/api/incidents/{body['id']}/escalate",
        json={"to_org_id": c.csirt.org_id},
        headers=c.victim.headers,
    )
    assert r.status_code == 403 and r.json()["error"] == "forbidden"

    # Hop 2: ISAC → national CSIRT, sharing nothing, at TLP:AMBER+STRICT.
    r = client.post(
        f"/api/incidents/{body['id']}/escalate",
        json={"to_org_id": c.csirt.org_id, "tlp": "amber+strict", "redact": ["affected"]},
        headers=c.isac.headers,
    )
    assert r.status_code == 201, r.text
    hop2 = r.json()
    assert hop2["ack_due_at"].startswith("2026-03-02T15:00:00")  # 3 h + 4 h default
    clock.at = T0 + timedelta(hours=4)
    assert (
        client.post(
            f"/api/incidents/{hop2['to_incident_id']}/acknowledge", headers=c.csirt.headers
        ).status_code
        == 200
    )
    # The escalation view shows every hop's state from each end.
    chain = client.get(
        f"/api/incidents/{hop2['to_incident_id']}/escalation", headers=c.csirt.headers
    ).json()
    assert [(h["from_org"], h["to_org"], h["state"]) for h in chain] == [
        ("Banco Victima", "ISAC Financiero", "acknowledged"),
        ("ISAC Financiero", "CSIRT Nacional", "acknowledged"),
    ]
    # The outsider sees none of it; unknown and hidden answer alike.
    for iid in (first["id"], body["id"], hop2["to_incident_id"]):
        hidden = client.get(f"/api/incidents/{iid}", headers=c.outsider.headers)
        assert hidden.status_code == 404
    assert client.get("/api/incidents", headers=c.outsider.headers).json() == []
    # Regulatory clocks on the victim's case (CR, finance): first notice 4 h, report 72 h.
    detail = client.get(f"/api/incidents/{first['id']}", headers=c.victim.headers).json()
    assert [(k["clock"], k["hours"], k["state"]) for k in detail["clocks"]] == [
        ("first-notice", 4.0, "running"),
        ("full-report", 72.0, "running"),
    ]
    clock.at = T0 + timedelta(hours=5)
    r = client.post(f"/api/incidents/{first['id']}/clocks/first-notice", headers=c.victim.headers)
    assert [(k["clock"], k["state"]) for k in r.json()] == [
        ("first-notice", "met"),
        ("full-report", "running"),
    ]
    timeline = client.get(f"/api/incidents/{first['id']}/timeline", headers=c.victim.headers)
    kinds = [e["kind"] for e in timeline.json()]
    assert kinds == ["created", "record", "escalated", "acknowledged", "clock"]


def test_attachments_are_downloads_only(client: TestClient, community: Community) -> None:
    c = community
    case = _create(client, c.victim)
    payload = b"<script>alert(1)</script><html>not rendered</html>"
    r = client.post(
        f"/api/incidents/{case['id']}/attachments?name=../../evil.html&tlp=red",
        content=payload,
        headers={**c.victim.headers, "Content-Type": "text/html"},
    )
    assert r.status_code == 201, r.text
    meta = r.json()
    assert meta["sha256"] == hashlib.sha256(payload).hexdigest()
    assert meta["name"] == "evil.html" and meta["size"] == len(payload)
    got = client.get(f"/api/incidents/attachments/{meta['id']}", headers=c.victim.headers)
    assert got.content == payload
    assert got.headers["content-disposition"] == 'attachment; filename="evil.html"'
    assert got.headers["x-content-type-options"] == "nosniff"
    assert got.headers["content-type"] == "application/octet-stream"
    # The coordinator sees the case but not a TLP:RED attachment; the outsider neither.
    assert client.get(f"/api/incidents/{case['id']}", headers=c.csirt.headers).status_code == 200
    for m in (c.csirt, c.outsider):
        r = client.get(f"/api/incidents/attachments/{meta['id']}", headers=m.headers)
        assert r.status_code == 404
    listed = client.get(f"/api/incidents/{case['id']}/attachments", headers=c.csirt.headers)
    assert listed.json() == []


def test_attachment_size_limit(client: TestClient, community: Community) -> None:
    c = community
    case = _create(client, c.victim)
    limit = client.app.state.node.settings.incident_attachment_max_bytes  # type: ignore[attr-defined]
    r = client.post(
        f"/api/incidents/{case['id']}/attachments?name=big.bin",
        content=b"x" * (limit + 1),
        headers=c.victim.headers,
    )
    assert r.status_code == 422 and "larger than" in r.json()["message"]


def test_errors_are_json_4xx(client: TestClient, community: Community) -> None:
    c = community
    bad = client.post(
        "/api/incidents",
        json={"title": "x", "classification": "nope:nope", "severity": "high"},
        headers=c.victim.headers,
    )
    assert bad.status_code == 422 and "RSIT" in bad.json()["message"]
    case = _create(client, c.victim)
    r = client.post(
        f"/api/incidents/{case['id']}/status", json={"status": "done"}, headers=c.victim.headers
    )
    assert r.status_code == 422 and "unknown status" in r.json()["message"]
    r = client.post(
        f"/api/incidents/{case['id']}/escalate",
        json={"to_org_id": c.isac.org_id, "redact": ["title"]},
        headers=c.victim.headers,
    )
    assert r.status_code == 422 and "redact" in r.json()["message"]
    assert client.get("/api/incidents/2147483648", headers=c.victim.headers).status_code == 422
    assert client.get("/api/incidents").status_code == 401


def test_playbooks_in_three_languages_and_apply(client: TestClient, community: Community) -> None:
    c = community
    names = {
        lang: [
            b["title"]
            for b in client.get(f"/api/playbooks?lang={lang}", headers=c.victim.headers).json()
        ]
        for lang in ("en", "es", "pt")
    }
    assert "Web defacement" in names["en"] and "Desfiguración web" in names["es"]
    assert "Vazamento de dados" in names["pt"] and len(names["en"]) == 5
    case = _create(client, c.victim)
    r = client.post(
        f"/api/incidents/{case['id']}/playbook",
        json={"playbook": "ransomware", "lang": "pt"},
        headers=c.victim.headers,
    )
    assert r.status_code == 201
    book = client.get("/api/playbooks/ransomware?lang=pt", headers=c.victim.headers).json()
    assert [t["title"] for t in r.json()] == [t["title"] for t in book["tasks"]]
    mine = client.get("/api/incidents/tasks", headers=c.victim.headers).json()
    assert len(mine) == len(book["tasks"])
    done = client.post(
        f"/api/incidents/tasks/{mine[0]['id']}/done", json={"done": True}, headers=c.victim.headers
    )
    assert done.json()["status"] == "done"
    assert (
        len(client.get("/api/incidents/tasks", headers=c.victim.headers).json())
        == len(book["tasks"]) - 1
    )
    assert client.get("/api/playbooks/nope", headers=c.victim.headers).status_code == 404


OWN_PLAYBOOK = {
    "name": "sim-swap",
    "classification": 'rsit:fraud="masquerade"',
    "title": {"en": "SIM swap fraud", "es": "Fraude por duplicado de SIM"},
    "description": {"en": "Accounts taken over after a SIM swap."},
    "phases": [
        {"phase": "respond", "tasks": [{"en": "Ask the carrier to freeze the line",
                                        "es": "Pedir al operador congelar la línea"}]},
        {"phase": "improve", "tasks": [{"en": "Move customers off SMS codes"}]},
    ],
}  # fmt: skip


def test_playbooks_are_shared_like_intelligence(client: TestClient, community: Community) -> None:
    c = community
    for reach, who_sees in (("organisation", False), ("community", True)):
        r = client.post(
            "/api/playbooks",
            json={"playbook": {**OWN_PLAYBOOK, "name": f"sim-swap-{reach}"}, "tlp": "green",
                  "reach": reach},
            headers=c.victim.headers,
        )  # fmt: skip
        assert r.status_code == 201, r.text
        key = r.json()["key"]
        assert key.startswith("x-minga-playbook--")
        seen = {b["key"] for b in client.get("/api/playbooks", headers=c.isac.headers).json()}
        assert (key in seen) == who_sees, reach
        mine = {b["key"] for b in client.get("/api/playbooks", headers=c.victim.headers).json()}
        assert key in mine
    case = _create(client, c.isac)
    r = client.post(
        f"/api/incidents/{case['id']}/playbook",
        json={"playbook": key, "lang": "es"},
        headers=c.isac.headers,
    )
    assert r.status_code == 201, r.text
    assert [(t["phase"], t["title"]) for t in r.json()] == [
        ("respond", "Pedir al operador congelar la línea"),
        ("improve", "Move customers off SMS codes"),  # no Spanish text: the English one
    ]
    bad = client.post(
        "/api/playbooks",
        json={"playbook": {**OWN_PLAYBOOK, "phases": [{"phase": "pray", "tasks": []}]}},
        headers=c.victim.headers,
    )
    assert bad.status_code == 422 and "unknown phase" in bad.json()["message"]
