"""The assessment pages with the demo community, through the TestClient (both backends): a
national self-assessment and a CSF assessment made in the browser's forms and exported, the
risk register with intelligence to link, the situation report as a page and as PDFs read back."""

from __future__ import annotations

import csv
import io
import re

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from minga.accounts import service as accounts
from minga.accounts.models import User
from minga.assessments import cmm, frameworks, sitrep
from minga.reports.pdf import pdf_text
from tests.web.conftest import other_client, sign_in

CAMPAIGN = "Costa Rica public-services ransomware campaign 2022"


def _principal(sessions: sessionmaker[Session], name: str):
    with sessions() as s:
        user = s.query(User).filter_by(name=name).one()
        return accounts.principal_for(s, user)


def _token(sessions: sessionmaker[Session], name: str) -> str:
    with sessions() as s:
        user = s.query(User).filter_by(name=name).one()
        _, issued = accounts.issue_token(s, None, user_id=user.id)
        s.commit()
    return issued.token


def _fill_all(sessions, principal, aid: int, stage: int, skip: str = "-") -> None:
    with sessions() as s:
        for aspect in frameworks.cmm().aspects:
            if aspect.key.startswith(skip):
                continue
            cmm.answer(s, principal, aid, aspect.key, stage=stage, justification="ok", evidence=[])
        s.commit()


def test_national_assessment_in_the_browser(client: TestClient, demo, sessions):
    csrf = sign_in(client, demo["ana.rojas"])  # CSIRT-CR analyst
    home = client.get("/assessments?lang=es")
    assert home.status_code == 200 and "Madurez nacional (CMM)" in home.text
    r = client.post("/assessments/cmm", data={"csrf": csrf, "year": "2024"}, follow_redirects=False)
    assert r.status_code == 303
    first = int(r.headers["location"].rsplit("/", 1)[1])
    page = client.get(f"/assessments/cmm/{first}?lang=en")
    # The source and edition are on every page of the model.
    assert "Cybersecurity Capacity Maturity Model for Nations (CMM), 2021 Edition" in page.text
    assert "secondary transcription" in page.text
    # D1.2: the node holds sharing activity and a CSIRT in the directory for Costa Rica.
    form = client.get(f"/assessments/cmm/{first}/factors/D1.2?lang=en")
    assert form.status_code == 200
    assert "edition 2021" in form.text
    refs = re.findall(r'name="evidence-D1\.2\.1" value="([^"]+)"', form.text)
    assert "sharing:org:" in " ".join(refs) and any(":kind:csirt" in r for r in refs)
    data = {"csrf": csrf}
    for key in ("D1.2.1", "D1.2.2", "D1.2.3"):
        data |= {f"stage-{key}": "3", f"why-{key}": "CSIRT-CR operates 24/7"}
    data |= {
        "evidence-D1.2.1": refs[0],
        "label-D1.2.2": "Plan nacional de respuesta",
        "url-D1.2.2": "https://example.org/plan",
    }
    r = client.post(f"/assessments/cmm/{first}/factors/D1.2", data=data, follow_redirects=False)
    assert r.status_code == 303, r.text
    page = client.get(f"/assessments/cmm/{first}?lang=es")
    assert "3. Consolidada" in page.text
    damaged = data | {"kept-D1.2.1": "{not json"}
    assert client.post(f"/assessments/cmm/{first}/factors/D1.2", data=damaged).status_code == 422
    # Completing the rest, then a second year: the radar carries both, the table compares them.
    me = _principal(sessions, "ana.rojas")
    _fill_all(sessions, me, first, 2, skip="D1.2.")
    assert (
        client.post(
            f"/assessments/cmm/{first}/complete", data={"csrf": csrf}, follow_redirects=False
        ).status_code
        == 303
    )
    r = client.post("/assessments/cmm", data={"csrf": csrf, "year": "2025"}, follow_redirects=False)
    second = int(r.headers["location"].rsplit("/", 1)[1])
    _fill_all(sessions, me, second, 3)
    page = client.get(f"/assessments/cmm/{second}?lang=pt")
    assert page.text.count("<polygon points=") >= 2 + 5  # rings + two years
    assert "Ano a ano" in page.text and "(+1)" in page.text and "(+0)" in page.text
    exported = client.get(f"/assessments/cmm/{first}/export.json").json()
    d12 = exported["dimensions"][0]["factors"][1]
    assert d12["aspects"][1]["evidence"][0]["label"] == "Plan nacional de respuesta"
    assert d12["aspects"][0]["evidence"][0]["kind"] == "sharing"
    rows = list(
        csv.DictReader(io.StringIO(client.get(f"/assessments/cmm/{second}/export.csv").text))
    )
    assert {r["stage_id"] for r in rows} == {"established"}
    # Another country's analyst neither lists nor opens it.
    other = other_client(client)
    sign_in(other, demo["maria.lopez"])
    assert client.get(f"/assessments/cmm/{first}").status_code == 200
    assert other.get(f"/assessments/cmm/{first}").status_code == 404
    assert "2024" not in other.get("/assessments/cmm").text.split("<tbody>")[1].split("</tbody>")[0]


def test_csf_assessment_in_the_browser(client: TestClient, demo):
    csrf = sign_in(client, demo["diego.mora"])  # CCSS analyst
    r = client.post(
        "/assessments/csf", data={"csrf": csrf, "title": "CCSS 2025"}, follow_redirects=False
    )
    aid = int(r.headers["location"].rsplit("/", 1)[1])
    form = client.get(f"/assessments/csf/{aid}/categories/GV.OC?lang=en")
    assert "The organizational mission is understood" in form.text
    assert "NIST has published no Spanish or Portuguese" in form.text
    data = {"csrf": csrf}
    for i, sub in enumerate(c for c in frameworks.csf().functions[0].categories[0].subcategories):
        data |= {
            f"current-{sub.id}": "1",
            f"target-{sub.id}": "3",
            f"importance-{sub.id}": "3" if i == 0 else "1",
            f"action-{sub.id}": f"Document {sub.id}",
            f"owner-{sub.id}": "CISO",
            f"due-{sub.id}": "2026-06-30",
        }
    r = client.post(f"/assessments/csf/{aid}/categories/GV.OC", data=data, follow_redirects=False)
    assert r.status_code == 303, r.text
    page = client.get(f"/assessments/csf/{aid}?lang=es")
    plan = page.text.split('id="plan"')[1].split("</table>")[0]
    # GV.OC-01: gap 2 × high 3 = 6 first; the others gap 2 × low 1 = 2.
    assert plan.index("GV.OC-01") < plan.index("GV.OC-02")
    assert "alto (6)" in plan and "bajo (2)" in plan
    bad = dict(data) | {"due-GV.OC-01": "mañana"}
    assert client.post(f"/assessments/csf/{aid}/categories/GV.OC", data=bad).status_code == 422
    exported = client.get(f"/assessments/csf/{aid}/export.json").json()
    assert exported["action_plan"][0]["id"] == "GV.OC-01"
    assert exported["functions"][0]["categories"][0]["subcategories"][0]["gap"] == 2
    report = pdf_text(client.get(f"/assessments/csf/{aid}/report.pdf?lang=pt").content)
    assert "Avaliação organizacional (NIST CSF 2.0): CCSS" in report
    assert "Plano de ação" in report and "Document GV.OC-01" in report
    aggregate = client.get("/assessments/csf/aggregate?sector=health&lang=en")
    assert "No aggregate to show" in aggregate.text


def test_risk_register_pages(client: TestClient, demo):
    csrf = sign_in(client, demo["pablo.jimenez"])  # Hacienda (CR, finance)
    form = client.get("/risks/new?q=ransomware&lang=en")
    assert CAMPAIGN in form.text  # seen in the organisation's country
    ref = re.search(r'name="threat_refs" value="(campaign--[0-9a-f-]+)"', form.text).group(1)
    data = {
        "csrf": csrf,
        "asset": "Tax filing portal",
        "threat": "Ransomware",
        "threat_refs": ref,
        "likelihood": "4",
        "impact": "5",
        "treatment": "mitigate",
        "owner": "CISO",
        "review_on": "2020-01-01",
    }
    r = client.post("/risks/new", data=data, follow_redirects=False)
    assert r.status_code == 303, r.text
    page = client.get("/risks?lang=es")
    home = client.get("/assessments?lang=es").text
    assert "Riesgos de su registro con revisión pendiente: 1" in home
    assert "20 crítico" in page.text
    assert 'id="reviews-due"' in page.text and "vencida" in page.text
    assert '<svg class="chart heatmap"' in page.text and "L4×I5: 1" in page.text
    rid = int(r.headers["location"].rsplit("-", 1)[1])
    assert CAMPAIGN in client.get(f"/risks/{rid}").text


def test_situation_report_page_and_pdfs(client: TestClient, demo, sessions):
    sign_in(client, _token(sessions, "admin.hub"))  # the node operator
    page = client.get("/sitrep?lang=en")
    assert page.status_code == 200
    assert (
        "Per country" in page.text
        and "Not recorded on this node yet: exercises." in page.text  # incidents now exist
    )
    body = page.text.split("Per country")[1].split("Per sector")[0]
    assert '<th scope="row">CR</th>' in body
    for lang, title in (
        ("es", "Informe regional de situación"),
        ("pt", "Relatório regional de situação"),
        ("en", "Regional situation report"),
    ):
        r = client.get(f"/sitrep.pdf?lang={lang}&country=CR")
        assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
        text = pdf_text(r.content)
        assert title in text and "CR" in text and "TLP:AMBER" in text
    html = client.get("/sitrep.html?lang=pt").text
    assert html.startswith("<!doctype html>") and "Por setor" in html
    # Scheduled: rendered as the operator sees the node and stored; only the operator reads it.
    with sessions() as s:
        made = sitrep.store(s, ["es", "en"], 30, "minga-test")
        s.commit()
        ids = [m.id for m in made]
    assert len(ids) == 2
    stored = client.get(f"/sitreps/{ids[0]}.pdf")
    assert "Informe regional de situación" in pdf_text(stored.content)
    other = other_client(client)
    sign_in(other, demo["maria.lopez"])
    assert other.get(f"/sitreps/{ids[0]}.pdf").status_code == 404
