"""Every page through the TestClient, on SQLite and PostgreSQL, with the demo community."""

from __future__ import annotations

import re
import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from minga.intel import service as intel
from minga.intel.service import ObjectQuery
from tests.conftest import add_member
from tests.web.conftest import other_client, sign_in

STRICT_REPORT = "report--1507f95c-1a86-4346-a08b-02736e4b28db"  # CCSS, AMBER+STRICT, own org
RED_NOTE = "note--bbfcacc4-da9c-4ba9-84a1-030923d340fb"  # CSIRT-CR, RED, response cell only
SITREP = "report--718e8be6-1f4a-457a-a122-4726fc00c065"  # CSIRT-CR, GREEN, community
CONTI = "malware--4112c905-98a3-40dc-a527-a1d533d94b97"


def _ids(html: str) -> set[str]:
    return set(re.findall(r'href="/objects/([a-z0-9-]+--[0-9a-f-]{36})', html))


def test_dashboard(client: TestClient, demo: dict[str, str]):
    sign_in(client, demo["maria.lopez"])
    r = client.get("/", headers={"Accept-Language": "en"})
    assert r.status_code == 200
    assert '<h2 id="new-h">New for CSIRT-GT (demo)</h2>' in r.text
    assert "objects shared by other organisations in the last 7 days." in r.text
    assert r.text.count('<svg class="chart" role="img"') == 3
    assert "Costa Rica public-services ransomware campaign 2022" in r.text
    assert SITREP in r.text
    assert STRICT_REPORT not in r.text and RED_NOTE not in r.text


def test_object_list_filters_and_search(client: TestClient, demo: dict[str, str]):
    sign_in(client, demo["ana.rojas"])
    reports = client.get("/objects?type=report")
    assert reports.status_code == 200
    assert _ids(reports.text) == {SITREP, "report--ef885e4b-fd2c-45c6-9c94-0f6845ab6386"}
    search = client.get("/objects?q=conti&type=malware")
    assert _ids(search.text) == {CONTI}
    amber = client.get("/objects?tlp=amber")
    assert "TLP:AMBER</span>" in amber.text and "TLP:GREEN</span>" not in amber.text
    assert client.get("/objects?tlp=purple").status_code == 422


def test_object_list_pages_with_a_cursor(client: TestClient, demo: dict[str, str]):
    sign_in(client, demo["ana.rojas"])
    first = client.get("/objects")
    nxt = re.search(r'href="([^"]+)" rel="next"', first.text)
    assert nxt is not None
    second = client.get(nxt.group(1).replace("&amp;", "&"))
    assert second.status_code == 200
    assert _ids(first.text).isdisjoint(_ids(second.text) - {CONTI})
    assert "First page" in second.text or "Primera página" in second.text


def test_object_detail(client: TestClient, demo: dict[str, str]):
    sign_in(client, demo["maria.lopez"])
    r = client.get(f"/objects/{CONTI}", headers={"Accept-Language": "en"})
    assert r.status_code == 200
    assert "<h1>Conti</h1>" in r.text
    assert "ColCERT (demo)" in r.text  # who shared it
    assert "Everyone on every node of the federation." in r.text  # reach, in words
    assert '<h2 id="rel-h">Relationships</h2>' in r.text
    assert "uses" in r.text  # Conti uses attack patterns / is used by the campaign
    assert '<h2 id="ver-h">Versions</h2>' in r.text
    report = client.get(f"/objects/{SITREP}", headers={"Accept-Language": "en"})
    assert "Objects in this report" in report.text
    assert f'href="/objects/{CONTI}"' in report.text


def test_versions_are_listed_and_each_can_be_opened(
    client: TestClient, sessions: sessionmaker[Session]
):
    from tests.factories import indicator

    a = add_member(sessions, "Org A")
    with sessions() as s:
        intel.create_objects(s, a.principal, [indicator(1)])
        intel.create_objects(s, a.principal, [indicator(1, modified="2024-03-02T12:00:00.000Z")])
        s.commit()
    sign_in(client, a.token)
    r = client.get(f"/objects/{indicator(1)['id']}")
    versions = re.findall(r"\?version=([^\"]+)\"", r.text)
    assert versions == ["2024-03-02T12%3A00%3A00.000Z", "2024-03-01T12%3A00%3A00.000Z"]
    old = client.get(f"/objects/{indicator(1)['id']}?version=2024-03-01T12:00:00.000Z")
    assert "<code>2024-03-01T12:00:00.000Z</code></dd>" in old.text


def test_missing_object_is_a_404_page_not_json(client: TestClient, demo: dict[str, str]):
    sign_in(client, demo["maria.lopez"])
    r = client.get(f"/objects/{STRICT_REPORT}", headers={"Accept-Language": "pt"})
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("text/html")
    assert "Não há nada aqui que você possa ver." in r.text


def test_strict_and_red_objects_stay_with_their_audience(client: TestClient, demo: dict[str, str]):
    """What the policy hides from CSIRT-GT is on no page it can open."""
    sign_in(client, demo["maria.lopez"])
    pages = ["/", "/objects", "/objects?q=hive", "/objects?type=report", "/objects?type=note"]
    for page in pages:
        html = client.get(page).text
        assert STRICT_REPORT not in html and RED_NOTE not in html, page
    assert client.get(f"/objects/{RED_NOTE}").status_code == 404
    # The members of the response cell (CSIRT-CR) do see the RED note.
    cr = other_client(client)
    sign_in(cr, demo["ana.rojas"])
    assert cr.get(f"/objects/{RED_NOTE}").status_code == 200
    assert RED_NOTE in cr.get("/objects?type=note").text


def test_publish_indicator(
    client: TestClient, sessions: sessionmaker[Session], demo: dict[str, str]
):
    csrf = sign_in(client, demo["ana.rojas"])
    form = client.get("/publish/indicator")
    assert form.status_code == 200
    r = client.post(
        "/publish/indicator",
        data={
            "csrf": csrf,
            "kind": "domain",
            "value": "pagos-hacienda-cr[.]com",
            "name": "Phishing de Hacienda",
            "tlp": "green",
            "reach": "community",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    stix_id = r.headers["location"].split("/objects/")[1].split("?")[0]
    detail = client.get(r.headers["location"], headers={"Accept-Language": "es"})
    assert "Publicado." in detail.text
    with sessions() as s:
        cr = intel.list_objects(s, _principal(s, "ana.rojas"), ObjectQuery(ids=[stix_id])).items
    assert len(cr) == 1
    obj = cr[0].object()
    assert obj["pattern"] == "[domain-name:value = 'pagos-hacienda-cr.com']"
    assert obj["name"] == "Phishing de Hacienda"
    assert (cr[0].tlp.value, cr[0].reach.value) == ("green", "community")


def test_publish_indicator_rejects_a_bad_value(client: TestClient, demo: dict[str, str]):
    csrf = sign_in(client, demo["ana.rojas"])
    r = client.post(
        "/publish/indicator",
        data={
            "csrf": csrf,
            "kind": "ipv4",
            "value": "999.1.1.1",
            "tlp": "amber",
            "reach": "community",
        },
        headers={"Accept-Language": "es"},
    )
    assert r.status_code == 422
    assert "El valor no es un indicador válido del tipo elegido." in r.text
    assert 'value="999.1.1.1"' in r.text  # the form keeps what was typed


def test_publish_with_a_group_of_another_org_is_refused(
    client: TestClient, sessions: sessionmaker[Session], demo: dict[str, str]
):
    csrf = sign_in(client, demo["maria.lopez"])  # CSIRT-GT: not in the CR response cell
    with sessions() as s:
        from minga.accounts.service import groups_by_name

        cell = groups_by_name(s, ["Célula de respuesta al ransomware de Costa Rica"])
    r = client.post(
        "/publish/indicator",
        data={
            "csrf": csrf,
            "kind": "ipv4",
            "value": "203.0.113.50",
            "tlp": "red",
            "reach": "community",
            "group": str(cell["Célula de respuesta al ransomware de Costa Rica"]),
        },
        headers={"Accept-Language": "en"},
    )
    assert r.status_code == 422
    assert "You can only share with your own sharing groups." in r.text


def test_publish_report_search_then_publish(
    client: TestClient, sessions: sessionmaker[Session], demo: dict[str, str]
):
    csrf = sign_in(client, demo["ana.rojas"])
    base = {"csrf": csrf, "name": "Conti y Hive", "report_type": "campaign", "tlp": "amber"}
    base["reach"] = "community"
    searched = client.post("/publish/report", data={**base, "q": "conti", "action": "search"})
    assert searched.status_code == 200
    assert f'value="{CONTI}"' in searched.text
    empty = client.post("/publish/report", data={**base, "action": "publish"})
    assert empty.status_code == 422
    r = client.post(
        "/publish/report", data={**base, "ref": CONTI, "action": "publish"}, follow_redirects=False
    )
    assert r.status_code == 303
    detail = client.get(r.headers["location"])
    assert f'href="/objects/{CONTI}"' in detail.text
    assert "<h1>Conti y Hive</h1>" in detail.text


def test_reader_sees_no_publish_links_and_cannot_publish(
    client: TestClient, sessions: sessionmaker[Session]
):
    reader = add_member(sessions, "Org R", role="reader")
    csrf = sign_in(client, reader.token)
    assert 'href="/publish/indicator"' not in client.get("/").text
    r = client.post(
        "/publish/indicator",
        data={
            "csrf": csrf,
            "kind": "ipv4",
            "value": "203.0.113.1",
            "tlp": "clear",
            "reach": "community",
        },
    )
    assert r.status_code == 403


def test_upload_review_and_publish(client: TestClient, demo: dict[str, str]):
    csrf = sign_in(client, demo["ana.rojas"])
    assert client.get("/upload").status_code == 200
    text = (
        b"Informe de prueba. El C2 usa el dominio cobro-ccss-cr.com y la IP 45.9.148.100. "
        b"Muestra: 44d88612fea8a8f36de82e1278abb02f."
    )
    r = client.post(
        "/upload", data={"csrf": csrf}, files={"file": ("informe.txt", text, "text/plain")}
    )
    assert r.status_code == 200
    assert str(r.url).split("/drafts/")[1].isdigit()
    assert "<code>cobro-ccss-cr.com</code>" in r.text
    assert "<mark>45.9.148.100</mark>" in r.text
    items = re.findall(r'name="item" value="(\d+)"', r.text)
    assert len(items) == 3
    draft_url = str(r.url).replace("http://testserver", "")
    published = client.post(
        draft_url + "/publish",
        data={"csrf": csrf, "item": items[:2], "tlp": "green", "reach": "community"},
        follow_redirects=False,
    )
    assert published.status_code == 303
    report = client.get(published.headers["location"])
    assert report.text.count('href="/objects/indicator--') == 2
    assert "published" in client.get("/upload", headers={"Accept-Language": "en"}).text


def test_review_page_says_what_was_not_read(
    client: TestClient, demo: dict[str, str], monkeypatch: pytest.MonkeyPatch
):
    from minga.ingest import report

    monkeypatch.setattr(report, "MAX_TEXT_CHARS", 40)
    csrf = sign_in(client, demo["ana.rojas"])
    text = b"El C2 usa la IP 45.9.148.100. " + b"relleno " * 10
    r = client.post(
        "/upload",
        data={"csrf": csrf},
        files={"file": ("largo.txt", text, "text/plain")},
        headers={"Accept-Language": "es"},
    )
    assert r.status_code == 200
    assert f"Se buscaron indicadores en los primeros 40 de {len(text)} caracteres." in r.text
    assert "<code>45.9.148.100</code>" in r.text


def test_upload_without_a_file_says_so(client: TestClient, demo: dict[str, str]):
    csrf = sign_in(client, demo["ana.rojas"])
    r = client.post("/upload", data={"csrf": csrf}, headers={"Accept-Language": "en"})
    assert r.status_code == 422
    assert "Choose a report file to upload." in r.text


def _principal(session: Session, name: str):
    from minga.accounts import service as accounts

    return accounts.principal_for(session, accounts.find_user(session, name))


def test_the_country_chart_leaves_out_the_node_itself(
    client: TestClient, demo: dict[str, str], sessions: sessionmaker[Session]
):
    """Reference knowledge the node loads is owned by its operator organisation, which is no
    member of the community: its country must not appear among the sharing countries."""
    from minga.accounts.models import Organisation

    node = add_member(sessions, "Node operator", country="UY")
    with sessions() as s:
        intel.create_objects(s, node.principal, [{
            "type": "malware", "spec_version": "2.1", "id": f"malware--{uuid.uuid4()}",
            "created": "2026-12-01T00:00:00.000Z", "modified": "2026-12-01T00:00:00.000Z",
            "name": "Reference entry", "is_family": True,
        }])  # fmt: skip
        s.commit()
    sign_in(client, demo["maria.lopez"])

    def chart() -> str:
        page = client.get("/", headers={"Accept-Language": "en"}).text
        return page.split('aria-labelledby="c-country-t')[1].split("</svg>")[0]

    assert ">UY<" in chart()
    with sessions() as s:
        org = s.get(Organisation, node.org_id)
        assert org is not None
        org.member = False
        s.commit()
    assert ">UY<" not in chart()
