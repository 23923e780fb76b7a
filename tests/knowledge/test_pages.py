"""Reference knowledge where analysts read: the draft review (technique names and tactics, known
exploited CVEs), publishing links to the reference objects, object pages, the ATT&CK matrix
and its Navigator layer. On both backends."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from minga.intel import service as intel
from minga.knowledge import kev, service
from tests.conftest import add_member
from tests.knowledge.conftest import FIXTURES
from tests.knowledge.test_update import LINK
from tests.web.conftest import sign_in

REPORT = (
    b"The actor sent e-mails with links (T1566.002) and then exploited CVE-2024-53704 "
    b"on the VPN concentrator; the C2 was 45.9.148.100."
)


def _load(sessions: sessionmaker[Session]) -> None:
    with sessions() as s:
        service.update(s, "attack", str(FIXTURES / "enterprise-attack"))
        service.update(s, "kev", str(FIXTURES / "kev.json"))
        s.commit()


def _publish_report(client: TestClient, csrf: str) -> str:
    r = client.post(
        "/upload", data={"csrf": csrf}, files={"file": ("report.txt", REPORT, "text/plain")}
    )
    assert r.status_code == 200, r.text
    said = " ".join(r.text.split())
    assert "Spearphishing Link" in said and "(Initial Access)" in said
    assert "Known exploited since 2025-02-18" in said and "SonicWall SonicOS" in said
    items = re.findall(r'name="item" value="(\d+)"', r.text)
    draft_url = str(r.url).replace("http://testserver", "")
    published = client.post(
        draft_url + "/publish",
        data={"csrf": csrf, "item": items, "tlp": "green", "reach": "community"},
        follow_redirects=False,
    )
    assert published.status_code == 303, published.text
    return str(published.headers["location"]).split("?")[0].rsplit("/", 1)[1]


def test_review_publish_and_object_page(client: TestClient, sessions: sessionmaker[Session]):
    admin = add_member(sessions, "Node operator", role="admin")
    analyst = add_member(sessions, "CSIRT CR")
    _load(sessions)
    csrf = sign_in(client, analyst.token)
    report_id = _publish_report(client, csrf)
    with sessions() as s:
        refs = intel.get_object(s, analyst.principal, report_id).object()["object_refs"]
    # Linked to the node's ATT&CK and KEV objects, not copies of them.
    assert LINK in refs and kev.stix_id("CVE-2024-53704") in refs
    page = " ".join(client.get(f"/objects/{report_id}").text.split())
    assert "Reference knowledge" in page and "Spearphishing Link" in page
    assert "Known exploited since 2025-02-18" in page
    vuln = " ".join(client.get(f"/objects/{kev.stix_id('CVE-2024-53704')}").text.split())
    assert "Known exploited since 2025-02-18" in vuln and "SonicWall SonicOS" in vuln
    assert admin.org_id != analyst.org_id


def test_matrix_page_and_navigator_layer(client: TestClient, sessions: sessionmaker[Session]):
    add_member(sessions, "Node operator", role="admin")
    analyst = add_member(sessions, "CSIRT CR")
    _load(sessions)
    csrf = sign_in(client, analyst.token)
    empty = client.get("/attack/layer.json").json()
    assert (empty["versions"]["layer"], empty["techniques"]) == ("4.5", [])
    report_id = _publish_report(client, csrf)
    page = client.get("/attack")
    assert page.status_code == 200
    assert re.search(r'<li class="covered"><code>T1566.002</code>.*?\(1\)', page.text)
    assert "<code>T1566</code>" in page.text  # known, not covered
    layer = client.get("/attack/layer.json", params={"scope": report_id})
    assert layer.headers["content-disposition"].startswith("attachment")
    body = layer.json()
    assert (body["domain"], body["versions"]["layer"]) == ("enterprise-attack", "4.5")
    assert [(t["techniqueID"], t["tactic"], t["score"]) for t in body["techniques"]] == [
        ("T1566.002", "initial-access", 1)
    ]
    other = client.get("/attack/layer.json", params={"scope": LINK.replace("2b", "3c", 1)})
    assert other.json()["techniques"] == []
    bad = client.get("/attack", params={"domain": "pre-attack"})
    assert bad.status_code == 422


def test_rest_draft_items_carry_the_knowledge(client: TestClient, sessions: sessionmaker[Session]):
    add_member(sessions, "Node operator", role="admin")
    analyst = add_member(sessions, "CSIRT CR")
    _load(sessions)
    r = client.post("/api/ingest?filename=report.txt", content=REPORT, headers=analyst.headers)
    assert r.status_code == 201, r.text
    draft_id = r.json()["result"]["draft_id"]
    items = client.get(f"/api/drafts/{draft_id}", headers=analyst.headers).json()["items"]
    notes = {i["value"]: i["knowledge"] for i in items}
    assert notes["T1566.002"] == {
        "kind": "technique", "id": "T1566.002", "name": "Spearphishing Link",
        "tactics": ["Initial Access"], "stix_id": LINK,
    }  # fmt: skip
    assert notes["CVE-2024-53704"]["date_added"] == "2025-02-18"
    assert notes["45.9.148.100"] is None
