"""End to end over REST: a country's CMM self-assessment and an organisation's CSF assessment
filled in, completed and exported; the sector aggregate's consent and size rules; the risk
register."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

from minga.assessments import frameworks
from tests.conftest import add_member


def _fill_cmm(client, headers, aid, stage_of):
    for aspect in frameworks.cmm().aspects:
        r = client.put(
            f"/api/assessments/cmm/{aid}/aspects/{aspect.key}",
            json={
                "stage": stage_of(aspect),
                "justification": f"Reviewed {aspect.name} with the ministry",
                "evidence": [
                    {"kind": "document", "label": "Decreto 43-2025", "url": "https://example.org/d"}
                ],
            },
            headers=headers,
        )
        assert r.status_code == 200, r.text


def test_country_self_assessment_end_to_end(client, sessions):
    csirt = add_member(sessions, "CSIRT Uno", role="coordinator", country="CR")
    other = add_member(sessions, "Otro CSIRT", role="admin", country="GT")
    h = csirt.headers
    model = client.get("/api/assessments/frameworks/cmm", headers=h).json()
    assert len(model["dimensions"]) == 5 and model["stages"][2]["names"]["es"] == "Consolidada"
    catalogue = client.get("/api/assessments/frameworks/csf", headers=h).json()
    assert [f["id"] for f in catalogue["functions"]] == ["GV", "ID", "PR", "DE", "RS", "RC"]
    r = client.post("/api/assessments/cmm", json={"year": 2025}, headers=h)
    assert r.status_code == 201, r.text
    aid = r.json()["id"]
    assert client.post("/api/assessments/cmm", json={"year": 2025}, headers=h).status_code == 409
    # Completing too early says how many aspects are missing.
    r = client.post(f"/api/assessments/cmm/{aid}/complete", headers=h)
    assert r.status_code == 409 and "61 aspect" in r.json()["message"]
    # A stage without a justification, an unknown aspect, a stage off the scale: refused.
    bad = client.put(f"/api/assessments/cmm/{aid}/aspects/D1.1.1", json={"stage": 2}, headers=h)
    assert bad.status_code == 422
    assert (
        client.put(f"/api/assessments/cmm/{aid}/aspects/D9.9.9", json={}, headers=h).status_code
        == 422
    )
    assert (
        client.put(
            f"/api/assessments/cmm/{aid}/aspects/D1.1.1", json={"stage": 6}, headers=h
        ).status_code
        == 422
    )

    # Dimension D1 aspects at 3, except D1.1.2 at 2: factor D1.1 is 2, D1.2-D1.4 are 3.
    _fill_cmm(
        client, h, aid, lambda a: 2 if a.key == "D1.1.2" else (3 if a.key.startswith("D1") else 1)
    )
    r = client.put(
        f"/api/assessments/cmm/{aid}/gci",
        json={"edition": "GCI 2024", "scores": {"legal": 18.5, "technical": 12.0}},
        headers=h,
    )
    assert r.status_code == 200
    assert (
        client.put(
            f"/api/assessments/cmm/{aid}/gci",
            json={"edition": "x", "scores": {"legal": 21}},
            headers=h,
        ).status_code
        == 422
    )
    # The node's own evidence: the CSIRT is in the directory for D1.2 (it shared nothing yet).
    found = client.get(f"/api/assessments/cmm/{aid}/evidence", headers=h).json()
    assert [e["label"] for e in found["D1.2"]] == [
        "Organisations of kind csirt in CR (1): CSIRT Uno"
    ]
    assert "D1.1" not in found
    # Another country's CSIRT neither reads nor changes the draft.
    assert client.get(f"/api/assessments/cmm/{aid}", headers=other.headers).status_code == 404
    r = client.post(f"/api/assessments/cmm/{aid}/complete", headers=h)
    assert r.status_code == 200, r.text
    done = r.json()
    d1 = done["dimensions"][0]
    assert [f["stage"] for f in d1["factors"]] == [2, 3, 3, 3]
    assert d1["score"] == 2.8  # (2 + 3 + 3 + 3) / 4 = 2.75 -> 2.8
    assert done["dimensions"][1]["score"] == 1.0
    assert done["overall_score"] == 1.4  # (2.8 + 1 + 1 + 1 + 1) / 5 = 1.36
    # Completed: locked until reopened.
    assert (
        client.put(f"/api/assessments/cmm/{aid}/aspects/D1.1.1", json={}, headers=h).status_code
        == 409
    )

    # The JSON export mirrors the questionnaire: dimension > factor > aspect, with the source.
    exp = client.get(f"/api/assessments/cmm/{aid}?format=json", headers=h).json()
    assert exp["edition"] == "2021" and "GCSCC" in exp["source"]
    assert [d["id"] for d in exp["dimensions"]] == ["D1", "D2", "D3", "D4", "D5"]
    aspect = exp["dimensions"][0]["factors"][0]["aspects"][1]
    assert aspect["key"] == "D1.1.2" and aspect["stage_id"] == "formative"
    assert aspect["evidence"][0]["label"] == "Decreto 43-2025"
    assert exp["gci"]["scores"]["legal"] == 18.5
    rows = list(
        csv.DictReader(
            io.StringIO(client.get(f"/api/assessments/cmm/{aid}?format=csv", headers=h).text)
        )
    )
    assert len(rows) == 61
    assert rows[1]["aspect_key"] == "D1.1.2" and rows[1]["factor_stage"] == "2"
    assert rows[1]["country"] == "CR" and rows[1]["year"] == "2025"


def _fill_csf(client, headers, aid, current, target, plan=True):
    due = (date.today() + timedelta(days=60)).isoformat()
    for sub in frameworks.csf().subcategories:
        body = {
            "current": current(sub.id),
            "target": target(sub.id),
            "importance": 3 if sub.id.startswith("GV") else 2,
        }
        if plan:
            body |= {"action": f"Close {sub.id}", "owner": "CISO", "due_on": due}
        r = client.put(
            f"/api/assessments/csf/{aid}/subcategories/{sub.id}", json=body, headers=headers
        )
        assert r.status_code == 200, r.text


def test_organisation_csf_assessment_end_to_end(client, sessions):
    bank = add_member(sessions, "Banco Uno", role="analyst")
    h = bank.headers
    aid = client.post("/api/assessments/csf", json={"title": "CSF 2025"}, headers=h).json()["id"]
    # GV at tier 1 aiming at 3 (gap 2 × high = 6), the rest already at its target 2.
    _fill_csf(
        client,
        h,
        aid,
        lambda s: 1 if s.startswith("GV") else 2,
        lambda s: 3 if s.startswith("GV") else 2,
        plan=False,
    )
    r = client.post(f"/api/assessments/csf/{aid}/complete", headers=h)
    assert r.status_code == 409 and "no action, owner and due date" in r.json()["message"]
    _fill_csf(
        client,
        h,
        aid,
        lambda s: 1 if s.startswith("GV") else 2,
        lambda s: 3 if s.startswith("GV") else 2,
    )
    r = client.post(f"/api/assessments/csf/{aid}/complete", headers=h)
    assert r.status_code == 200, r.text
    out = r.json()
    gv = out["functions"][0]
    assert (gv["id"], gv["current"], gv["target"], gv["gap"]) == ("GV", 1.0, 3.0, 2.0)
    assert out["functions"][1]["gap"] == 0.0
    n_gv = sum(len(c.subcategories) for c in frameworks.csf().functions[0].categories)
    assert len(out["action_plan"]) == n_gv == 31
    first = out["action_plan"][0]
    assert first["rank"] == 1 and first["priority"] == "high" and first["priority_score"] == 6
    assert first["id"] == "GV.OC-01" and first["owner"] == "CISO"
    rows = list(
        csv.DictReader(
            io.StringIO(client.get(f"/api/assessments/csf/{aid}?format=csv", headers=h).text)
        )
    )
    assert len(rows) == 106
    assert rows[0]["function"] == "GV" and rows[0]["category"] == "GV.OC" and rows[0]["gap"] == "2"
    # Nobody else reads it.
    other = add_member(sessions, "Banco Dos", role="admin")
    assert client.get(f"/api/assessments/csf/{aid}", headers=other.headers).status_code == 404
    assert (
        client.put(
            f"/api/assessments/csf/{aid}/subcategories/XX.YY-01", json={}, headers=h
        ).status_code
        == 409
    )


def test_sector_aggregate_needs_consent_and_three_organisations(client, sessions):
    isac = add_member(sessions, "ISAC Gobierno", role="coordinator")
    members = [add_member(sessions, f"Ente {i}", role="analyst") for i in range(3)]
    ids = []
    for i, m in enumerate(members):
        aid = client.post("/api/assessments/csf", json={"title": "2025"}, headers=m.headers).json()[
            "id"
        ]
        _fill_csf(client, m.headers, aid, lambda s, i=i: i + 1, lambda s: 4)
        assert (
            client.post(f"/api/assessments/csf/{aid}/complete", headers=m.headers).status_code
            == 200
        )
        ids.append(aid)
    url = "/api/assessments/csf/aggregate?sector=government"
    assert client.get(url, headers=isac.headers).status_code == 403  # nobody consented yet
    for m, aid in zip(members[:2], ids[:2], strict=True):
        client.put(
            f"/api/assessments/csf/{aid}/consent",
            json={"share_with_sector": True},
            headers=m.headers,
        )
    assert client.get(url, headers=isac.headers).status_code == 403  # two are too few
    client.put(
        f"/api/assessments/csf/{ids[2]}/consent",
        json={"share_with_sector": True},
        headers=members[2].headers,
    )
    r = client.get(url, headers=isac.headers)
    assert r.status_code == 200, r.text
    # Current tiers 1, 2, 3 everywhere: every function's mean is 2.0, over three organisations.
    assert r.json() == {
        "sector": "government",
        "organisations": 3,
        "functions": {f: 2.0 for f in ["DE", "GV", "ID", "PR", "RC", "RS"]},
    }
    # An analyst (not a coordinator) does not see it.
    assert client.get(url, headers=members[0].headers).status_code == 403


def test_risk_register(client, sessions):
    org = add_member(sessions, "Hospital Uno", role="analyst")
    h = org.headers
    soon = (date.today() + timedelta(days=5)).isoformat()
    later = (date.today() + timedelta(days=120)).isoformat()
    body = {
        "asset": "Expediente clínico",
        "threat": "Ransomware",
        "likelihood": 4,
        "impact": 5,
        "owner": "CISO",
        "review_on": soon,
    }
    r = client.post("/api/risks", json=body, headers=h)
    assert r.status_code == 201, r.text
    assert (r.json()["score"], r.json()["level"], r.json()["review_due"]) == (20, "critical", True)
    r2 = client.post(
        "/api/risks",
        json=body | {"asset": "Correo", "likelihood": 2, "impact": 2, "review_on": later},
        headers=h,
    )
    assert r2.json()["level"] == "low" and r2.json()["review_due"] is False
    assert client.post("/api/risks", json=body | {"likelihood": 6}, headers=h).status_code == 422
    assert (
        client.post("/api/risks", json=body | {"treatment": "ignore"}, headers=h).status_code == 422
    )
    hidden = body | {"threat_refs": ["campaign--00000000-0000-4000-8000-000000000000"]}
    assert client.post("/api/risks", json=hidden, headers=h).status_code == 422
    listed = client.get("/api/risks", headers=h).json()
    assert [x["asset"] for x in listed] == ["Expediente clínico", "Correo"]  # highest score first
    assert [x["asset"] for x in client.get("/api/risks?due=true", headers=h).json()] == [
        "Expediente clínico"
    ]
    grid = client.get("/api/risks/heatmap", headers=h).json()["counts"]
    assert grid[4][3] == 1 and grid[1][1] == 1
    other = add_member(sessions, "Hospital Dos")
    assert client.get(f"/api/risks/{r.json()['id']}", headers=other.headers).status_code == 404
    assert client.get("/api/risks", headers=other.headers).json() == []


def test_csv_export_is_not_run_as_formulas(client, sessions):
    csirt = add_member(sessions, "CSIRT Cuatro", country="PA")
    h = csirt.headers
    aid = client.post("/api/assessments/cmm", json={"year": 2024}, headers=h).json()["id"]
    body = {"stage": 1, "justification": '=HYPERLINK("http://x.example","ver")'}
    assert (
        client.put(f"/api/assessments/cmm/{aid}/aspects/D1.1.1", json=body, headers=h).status_code
        == 200
    )
    text = client.get(f"/api/assessments/cmm/{aid}?format=csv", headers=h).text
    row = next(csv.DictReader(io.StringIO(text)))
    assert row["justification"] == "'" + body["justification"]
    # The JSON export keeps the text as written.
    exp = client.get(f"/api/assessments/cmm/{aid}", headers=h).json()
    assert (
        exp["dimensions"][0]["factors"][0]["aspects"][0]["justification"] == body["justification"]
    )
