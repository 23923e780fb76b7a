"""The analyst's loop in the pages (both backends): readable rows, acting on an object from its
page (change, TLP, expiry, revoke, export), the report's own words and file, and labels."""

from __future__ import annotations

import re

import orjson
from fastapi.testclient import TestClient

from tests.web.conftest import other_client, sign_in

RELATIONSHIP = "relationship--02624183-8e27-4dc4-9840-d982c019855b"  # CSIRT-CR, CLEAR
SITREP = "report--718e8be6-1f4a-457a-a122-4726fc00c065"  # CSIRT-CR, GREEN, community
EN = {"Accept-Language": "en"}


def _publish_indicator(client: TestClient, csrf: str, value: str) -> str:
    r = client.post(
        "/publish/indicator",
        data={"csrf": csrf, "kind": "ipv4", "value": value, "name": f"C2 {value}"}
        | {"tlp": "amber", "reach": "community"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return r.headers["location"].split("?")[0].rsplit("/", 1)[1]


def test_rows_say_what_they_are(client: TestClient, demo: dict[str, str]):
    sign_in(client, demo["ana.rojas"])
    rels = client.get("/objects?type=relationship", headers=EN).text
    assert "Costa Rica public-services ransomware campaign 2022 — attributed to → Conti" in rels
    sightings = client.get("/objects?type=sighting", headers=EN).text
    assert re.search(r"Servidor C2 Cobalt Strike \(demo\) · at [^<]+ · seen 14 times", sightings)
    notes = client.get("/objects?type=note", headers=EN).text
    assert "Nota para parceiros de língua portuguesa" in notes
    assert ">note--" not in notes  # no bare ids as names
    dashboard = client.get("/", headers=EN).text
    assert 'href="/objects/identity--' not in dashboard  # new organisations are not news


def test_type_names_are_translated(client: TestClient, demo: dict[str, str]):
    sign_in(client, demo["ana.rojas"])
    es = client.get("/objects?type=attack-pattern", headers={"Accept-Language": "es"}).text
    assert '<option value="attack-pattern" selected>Patrón de ataque</option>' in es
    assert '<td class="type">Patrón de ataque</td>' in es
    pt = client.get("/objects?type=campaign&lang=pt").text
    assert '<td class="type">Campanha</td>' in pt


def test_change_expire_and_revoke_from_the_page(client: TestClient, demo: dict[str, str]):
    csrf = sign_in(client, demo["ana.rojas"])
    stix_id = _publish_indicator(client, csrf, "198.51.100.23")
    page = client.get(f"/objects/{stix_id}", headers=EN).text
    assert f'href="/objects/{stix_id}/edit"' in page and f"/objects/{stix_id}/revoke" in page
    form = client.get(f"/objects/{stix_id}/edit", headers=EN)
    assert form.status_code == 200 and 'id="valid_until"' in form.text
    too_early = client.post(
        f"/objects/{stix_id}/edit",
        data={"csrf": csrf, "name": "x", "valid_until": "2001-01-01T00:00", "tlp": "amber"},
        headers=EN,
    )
    assert too_early.status_code == 422
    assert "later than the time the indicator is valid from" in too_early.text
    saved = client.post(
        f"/objects/{stix_id}/edit",
        data={"csrf": csrf, "name": "C2 renamed", "description": "Cobalt Strike"}
        | {"valid_until": "2099-12-31T23:59", "tlp": "green"},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    after = client.get(saved.headers["location"], headers=EN).text
    assert "<h1>C2 renamed</h1>" in after and "Saved: a new version" in after
    assert "TLP:GREEN" in after and "2099-12-31T23:59:00" in after
    assert after.count('aria-current="true"><code>') == 1
    assert len(re.findall(r"\?version=", after)) == 2  # two versions listed

    # Another organisation sees it (GREEN, community) but may not change or revoke it.
    other = other_client(client)
    other_csrf = sign_in(other, demo["maria.lopez"])
    seen = other.get(f"/objects/{stix_id}", headers=EN).text
    assert "C2 renamed" in seen and f"/objects/{stix_id}/edit" not in seen
    assert other.get(f"/objects/{stix_id}/edit").status_code == 403
    refused = other.post(f"/objects/{stix_id}/revoke", data={"csrf": other_csrf})
    assert refused.status_code == 403
    refused = other.post(
        f"/objects/{stix_id}/edit", data={"csrf": other_csrf, "name": "mine", "tlp": "clear"}
    )
    assert refused.status_code == 403

    revoked = client.post(f"/objects/{stix_id}/revoke", data={"csrf": csrf}, follow_redirects=False)
    assert revoked.status_code == 303
    gone = client.get(revoked.headers["location"], headers=EN).text
    assert "Revoked:" in gone and f"/objects/{stix_id}/edit" not in gone


def test_export_a_report_with_its_objects(client: TestClient, demo: dict[str, str]):
    sign_in(client, demo["maria.lopez"])
    r = client.get(f"/objects/{SITREP}/export")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/stix+json")
    assert "attachment" in r.headers["content-disposition"]
    bundle = orjson.loads(r.content)
    assert bundle["type"] == "bundle" and bundle["objects"][0]["id"] == SITREP
    listed = set(bundle["objects"][0]["object_refs"])
    assert {o["id"] for o in bundle["objects"][1:]} <= listed
    assert len(bundle["objects"]) > 1
    assert (
        client.get("/objects/report--00000000-0000-4000-8000-000000000000/export").status_code
        == 404
    )


def test_not_found_keeps_the_navigation(client: TestClient, demo: dict[str, str]):
    sign_in(client, demo["ana.rojas"])
    r = client.get("/objects/indicator--00000000-0000-4000-8000-000000000000", headers=EN)
    assert r.status_code == 404
    assert 'class="main-nav"' in r.text and "Not found" in r.text
    browser = {"Accept": "text/html,application/xhtml+xml", "Accept-Language": "es"}
    typo = client.get("/objetos", headers=browser)
    assert typo.status_code == 404 and typo.headers["content-type"].startswith("text/html")
    assert 'class="main-nav"' in typo.text and "No encontrado" in typo.text
    api = client.get("/api/nothing-here", headers=browser)
    assert api.status_code == 404 and api.json()["error"] == "http"


def test_upload_states_the_real_limit_and_one_menu_entry(client: TestClient, demo: dict[str, str]):
    sign_in(client, demo["ana.rojas"])
    page = client.get("/upload", headers=EN).text
    assert "up to 50 MB" in page and "20 MB" not in page
    assert page.count(">Publish a report</a>") == 1 and "Upload a report</a>" not in page
    assert 'href="/publish/report"' in page  # the other way, explained on the same page


def test_upload_limit_follows_the_ingest_setting(settings, engine, demo: dict[str, str]):
    from minga.app import create_app

    small = settings.model_copy(update={"ingest_max_bytes": 2 * 1024 * 1024})
    with TestClient(create_app(small, engine=engine)) as client:
        csrf = sign_in(client, demo["ana.rojas"])
        assert "up to 2 MB" in client.get("/upload", headers=EN).text
        big = b"x " * (1024 * 1024 + 10)
        r = client.post(
            "/upload",
            data={"csrf": csrf},
            files={"file": ("big.txt", big, "text/plain")},
            headers=EN,
        )
        assert r.status_code == 413 and "larger than 2 MB" in r.text


REPORT = """TLP:AMBER

Campaña de phishing contra municipalidades

Resumen ejecutivo

Entre marzo y abril de 2025 el grupo envió correos con el adjunto Planilla_Marzo_2025.zip a
funcionarios de municipalidades. El adjunto instala un cargador.

Infraestructura
El servidor 185.220.101.4 recibía los datos robados.
""".encode()


def test_review_page_with_the_reports_words_tlp_and_file(client: TestClient, demo: dict[str, str]):
    csrf = sign_in(client, demo["ana.rojas"])
    r = client.post(
        "/upload",
        data={"csrf": csrf},
        files={"file": ("campana.txt", REPORT, "text/plain")},
        headers={"Accept-Language": "es"},
    )
    assert r.status_code == 200
    draft_url = str(r.url).replace("http://testserver", "")
    assert 'value="Campaña de phishing contra municipalidades"' in r.text
    assert "Entre marzo y abril de 2025" in r.text
    assert 'id="tlp-amber" value="amber" checked' in r.text
    assert "El informe se marca a sí mismo como TLP:AMBER" in r.text
    assert '<td class="type">Nombre de archivo</td>' in r.text  # Planilla_Marzo_2025.zip
    assert "<mark>185.220.101.4</mark> recibía" in r.text and "Infraestructura El" not in r.text
    assert client.get(draft_url + "/file").content == REPORT
    items = re.findall(r'name="item" value="(\d+)"', r.text)
    published = client.post(
        draft_url + "/publish",
        data={"csrf": csrf, "item": items, "tlp": "green", "reach": "community"}
        | {"name": "Phishing municipal", "description": "Resumen del analista."},
        follow_redirects=False,
    )
    assert published.status_code == 303
    report_id = published.headers["location"].split("?")[0].rsplit("/", 1)[1]
    page = client.get(f"/objects/{report_id}", headers={"Accept-Language": "es"}).text
    assert "<h1>Phishing municipal</h1>" in page and "Resumen del analista." in page
    assert f'href="/objects/{report_id}/file"' in page
    other = other_client(client)
    sign_in(other, demo["maria.lopez"])  # GREEN, community: another member may see it
    got = other.get(f"/objects/{report_id}/file")
    assert got.status_code == 200 and got.content == REPORT
    assert "attachment" in got.headers["content-disposition"]
    assert other.get(draft_url + "/file").status_code == 404  # the draft stays its org's


def test_sector_values_are_shown_as_translated_labels(
    client: TestClient, demo: dict[str, str], sessions
):
    from tests.conftest import add_member

    sign_in(client, add_member(sessions, "Org Z", role="admin").token)
    es = client.get("/admin/organisations?lang=es").text
    assert "<td>gobierno</td>" in es and "<td>salud</td>" in es and "<td>government</td>" not in es
    pt = client.get("/admin/organisations?lang=pt").text
    assert "<td>governo</td>" in pt and "<td>saúde</td>" in pt
