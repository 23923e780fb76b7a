"""The incident pages, signed in on both backends: open one through the form, work on it,
escalate, acknowledge; my tasks, my deadlines; the object page lists incidents holding it;
the report as HTML and as a PDF in es/pt/en, read back."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

from fastapi.testclient import TestClient

from minga.reports.pdf import pdf_text
from tests.incidents.conftest import T0, Community, PinnedClock
from tests.web.conftest import sign_in

INCIDENT_URL = re.compile(r"/incidents/(\d+)$")


def _browser(client: TestClient, token: str) -> tuple[TestClient, str]:
    web = TestClient(client.app)
    return web, sign_in(web, token)


def test_walk_an_incident_through_the_pages(client: TestClient, community: Community) -> None:
    c = community
    clock = PinnedClock()
    client.app.state.incident_clock = clock  # type: ignore[attr-defined]
    oid = f"indicator--{uuid.uuid4()}"
    ind = {
        "type": "indicator", "spec_version": "2.1", "id": oid,
        "created": "2026-03-01T00:00:00.000Z", "modified": "2026-03-01T00:00:00.000Z",
        "name": "Phishing kit host", "pattern": "[ipv4-addr:value = '198.51.100.7']",
        "pattern_type": "stix", "valid_from": "2026-03-01T00:00:00Z",
    }  # fmt: skip
    r = client.post(
        "/api/objects?tlp=green&reach=community", json={"objects": [ind]}, headers=c.victim.headers
    )
    assert r.status_code in (200, 201), r.text
    web, csrf = _browser(client, c.victim.token)
    form = web.get("/incidents/new?lang=es")
    assert form.status_code == 200 and "Abrir un incidente" in form.text
    made = web.post(
        "/incidents",
        data={
            "csrf": csrf, "title": "Campaña de phishing", "classification": 'rsit:fraud="phishing"',
            "severity": "high", "description": "Correos falsos del banco.", "tlp": "amber",
            "pap": "amber", "sectors": "finance", "countries": "CR", "playbook": "phishing",
        },
        follow_redirects=False,
    )  # fmt: skip
    assert made.status_code == 303, made.text
    found = INCIDENT_URL.search(made.headers["location"])
    assert found is not None
    iid = int(found.group(1))
    page = web.get(f"/incidents/{iid}")
    assert "Campaña de phishing" in page.text
    assert "Obtener el mensaje con los encabezados completos" in page.text  # the es playbook
    assert "Primera notificación a la autoridad" in page.text  # the clock, counting down
    bad = web.post(f"/incidents/{iid}/status", data={"csrf": csrf, "status": "nope"})
    assert bad.status_code == 422 and "unknown status" in bad.text
    ok = web.post(f"/incidents/{iid}/records", data={"csrf": csrf, "stix_id": oid, "tlp": "green"})
    assert ok.status_code == 200 and oid in ok.text
    up = web.post(
        f"/incidents/{iid}/attachments",
        data={"csrf": csrf, "tlp": "amber"},
        files={"file": ("headers.eml", b"Received: from evil", "message/rfc822")},
    )
    assert up.status_code == 200 and "headers.eml" in up.text
    esc = web.post(
        f"/incidents/{iid}/escalate",
        data={"csrf": csrf, "to_org_id": str(c.isac.org_id), "tlp": "amber", "pap": "amber",
              "share": oid, "ack_hours": "2"},
    )  # fmt: skip
    assert esc.status_code == 200 and "ISAC Financiero" in esc.text
    # The object page lists the incidents holding it, for those who may see them.
    assert f"/incidents/{iid}" in web.get(f"/objects/{oid}").text
    outsider, _ = _browser(client, c.outsider.token)
    assert "/incidents/" not in outsider.get(f"/objects/{oid}").text.split("<main", 1)[-1]
    assert outsider.get(f"/incidents/{iid}").status_code == 404
    # The ISAC: its deadlines, acknowledge, its tasks.
    isac, isac_csrf = _browser(client, c.isac.token)
    due = isac.get("/incidents/my/deadlines?lang=en")
    assert "Acknowledge the escalation" in due.text and "overdue</span>" not in due.text
    clock.at = T0 + timedelta(hours=3)  # past the 2 h to acknowledge: the menu says so
    due = isac.get("/incidents/my/deadlines?lang=en")
    assert "1 overdue" in due.text
    child = re.search(r'href="/incidents/(\d+)">#\d+ Campaña', due.text)
    assert child is not None
    ack = isac.post(f"/incidents/{child.group(1)}/acknowledge", data={"csrf": isac_csrf})
    assert ack.status_code == 200 and "acknowledged" in ack.text
    assert "Campaña de phishing" in web.get("/incidents?view=board").text
    assert "Obtener el mensaje" in web.get("/incidents/my/tasks").text
    view = web.get(f"/incidents/{iid}/escalation?lang=pt")
    assert "recebimento confirmado" in view.text
    # The report, HTML and PDF, in the three languages.
    words = {"es": "Informe de incidente", "pt": "Relatório de incidente", "en": "Incident report"}
    for lang, title in words.items():
        html = web.get(f"/incidents/{iid}/report.html?lang={lang}")
        assert title in html.text and "Phishing kit host" in html.text
        pdf = web.get(f"/incidents/{iid}/report.pdf?lang={lang}")
        assert pdf.headers["content-type"] == "application/pdf"
        text = pdf_text(pdf.content)
        assert title in text and "Campaña de phishing" in text and "Phishing kit host" in text


def test_assistance_and_measures_pages(client: TestClient, community: Community) -> None:
    c = community
    r = client.post(
        "/api/incidents",
        json={"title": "DDoS on tax portal", "classification": "availability:ddos",
              "severity": "high"},
        headers=c.victim.headers,
    )  # fmt: skip
    iid = r.json()["id"]
    web, csrf = _browser(client, c.victim.token)
    asked = web.post(
        f"/incidents/{iid}/assistance",
        data={"csrf": csrf, "to_org_id": str(c.outsider.org_id), "what": "Scrubbing capacity"},
    )
    assert asked.status_code == 200 and "Scrubbing capacity" in asked.text
    helper, helper_csrf = _browser(client, c.outsider.token)
    desk = helper.get("/incidents/my/tasks?lang=es")
    assert "Solicitudes de asistencia" in desk.text and "Scrubbing capacity" in desk.text
    assert "DDoS on tax portal" not in desk.text  # not until it accepts
    rid = re.search(r"/incidents/assistance/(\d+)/answer", desk.text)
    assert rid is not None
    done = helper.post(
        f"/incidents/assistance/{rid.group(1)}/answer",
        data={"csrf": helper_csrf, "accept": "1"},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == f"/incidents/{iid}"
    assert "DDoS on tax portal" in helper.get(f"/incidents/{iid}").text
    measures = web.get("/incidents/measures?by=country&lang=pt")
    assert measures.status_code == 200 and "Medidas" in measures.text
