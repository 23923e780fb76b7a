"""Draft → publish → public pages and feeds in es/pt/en → update → withdraw; the TLP rule."""

from __future__ import annotations

import feedparser
from fastapi.testclient import TestClient

from minga.policy import Tlp, public_refusals
from tests.advisories.conftest import Csirt, body

LANG_TITLES = {
    "es": "Vulnerabilidad crítica en Log4j",
    "pt": "Vulnerabilidade crítica no Log4j",
    "en": "Critical vulnerability in Log4j",
}


def _draft(client: TestClient, csirt: Csirt, **changes) -> str:
    r = client.post("/api/advisories", json=body(csirt, **changes), headers=csirt.analyst.headers)
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "draft" and r.json()["public_url"] is None
    return str(r.json()["tracking_id"])


def _public(client: TestClient, url: str, **headers: str):
    client.cookies.clear()
    r = client.get(url, headers=headers)
    assert "set-cookie" not in r.headers, url
    return r


def _feed_titles(client: TestClient, url: str) -> list[str]:
    r = _public(client, url)
    assert r.status_code == 200, (url, r.text)
    parsed = feedparser.parse(r.content)
    assert not parsed.bozo, (url, parsed.bozo_exception)
    return [e.title for e in parsed.entries]


def test_publish_show_in_three_languages_update_then_withdraw(client: TestClient, csirt: Csirt):
    tracking_id = _draft(client, csirt)
    page = f"/public/advisories/{tracking_id}"
    # A draft is nobody's business outside its organisation, and not public.
    assert _public(client, page).status_code == 404
    outsider = client.get(f"/api/advisories/{tracking_id}", headers=csirt.outsider.headers)
    assert outsider.status_code == 404
    # The analyst drafts; publishing is the coordinator's (of the same organisation).
    refused = client.post(f"/api/advisories/{tracking_id}/publish", headers=csirt.analyst.headers)
    assert refused.status_code == 403
    other = client.post(f"/api/advisories/{tracking_id}/publish", headers=csirt.outsider.headers)
    assert other.status_code == 404
    r = client.post(
        f"/api/advisories/{tracking_id}/publish",
        json={"summary": "First release"},
        headers=csirt.coordinator.headers,
    )
    assert r.status_code == 200, r.text
    published = r.json()
    assert published["status"] == "published" and published["revision"] == 1
    assert published["csaf"] is True
    assert {link["id"] for link in published["content"]["linked"]} == {
        csirt.clear_vuln,
        csirt.clear_indicator,
    }

    for lang, title in LANG_TITLES.items():
        shown = _public(client, f"{page}?lang={lang}")
        assert shown.status_code == 200
        assert f'<html lang="{lang}">' in shown.text and title in shown.text
        csp = shown.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "script-src" not in csp
        assert "<script" not in shown.text and "https://fonts" not in shown.text
        assert "203.0.113.7" in shown.text  # the linked CLEAR indicator is shown
        assert _feed_titles(client, f"/public/feeds/{lang}.rss") == [f"[CRITICAL] {title}"]
        assert _feed_titles(client, f"/public/feeds/{lang}.atom") == [f"[CRITICAL] {title}"]
        assert _feed_titles(client, f"/public/feeds/{lang}/health.rss") == [f"[CRITICAL] {title}"]
        assert _feed_titles(client, f"/public/feeds/{lang}/energy.atom") == []
    # The browser's language when no ?lang= is given.
    pt = _public(client, page, **{"Accept-Language": "pt-BR,pt;q=0.9"})
    assert LANG_TITLES["pt"] in pt.text
    # Search, in any language, and by sector.
    found = _public(client, "/public/advisories?q=log4j+actualice&lang=es")
    assert LANG_TITLES["es"] in found.text
    accents = _public(client, "/public/advisories?q=CRITICA+versao&lang=pt")  # crítica, versão
    assert LANG_TITLES["pt"] in accents.text
    assert LANG_TITLES["es"] not in _public(client, "/public/advisories?q=ransomware").text
    assert LANG_TITLES["en"] not in _public(client, "/public/advisories?sector=energy").text
    assert LANG_TITLES["en"] in _public(client, "/public/advisories?sector=health&lang=en").text

    # An update is a new revision; the history keeps both.
    changed = body(csirt)
    changed["texts"]["en"]["what_to_do"] = "Update Log4j to 2.17.1; block 203.0.113.7."
    r = client.post(
        f"/api/advisories/{tracking_id}/revisions",
        json={**changed, "summary": "Added the blocking advice"},
        headers=csirt.coordinator.headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["revision"] == 2
    detail = client.get(f"/api/advisories/{tracking_id}", headers=csirt.analyst.headers).json()
    assert [(h["number"], h["summary"]) for h in detail["revisions"]] == [
        (1, "First release"),
        (2, "Added the blocking advice"),
    ]
    shown = _public(client, f"{page}?lang=en")
    assert "block 203.0.113.7" in shown.text and "Added the blocking advice" in shown.text

    # Withdrawn: still public, marked, with the reason; gone from the feeds.
    r = client.post(
        f"/api/advisories/{tracking_id}/withdraw",
        json={"reason": "Published by mistake for the wrong product line."},
        headers=csirt.coordinator.headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "withdrawn" and r.json()["revision"] == 3
    for lang in LANG_TITLES:
        shown = _public(client, f"{page}?lang={lang}")
        assert shown.status_code == 200
        assert "Published by mistake for the wrong product line." in shown.text
        assert _feed_titles(client, f"/public/feeds/{lang}.rss") == []
        assert _feed_titles(client, f"/public/feeds/{lang}.atom") == []
    again = client.post(
        f"/api/advisories/{tracking_id}/withdraw",
        json={"reason": "again"},
        headers=csirt.coordinator.headers,
    )
    assert again.status_code == 409


def test_a_link_to_a_non_clear_object_is_refused_with_its_name(client: TestClient, csirt: Csirt):
    tracking_id = _draft(client, csirt, links=[csirt.clear_vuln, csirt.amber_indicator])
    r = client.post(f"/api/advisories/{tracking_id}/publish", headers=csirt.coordinator.headers)
    assert r.status_code == 403
    assert csirt.amber_indicator in r.json()["message"]
    assert "TLP:AMBER" in r.json()["message"]
    assert csirt.clear_vuln not in r.json()["message"]
    assert _public(client, f"/public/advisories/{tracking_id}").status_code == 404
    # Unknown (or invisible) objects cannot be linked at all.
    unknown = client.post(
        "/api/advisories",
        json=body(csirt, links=["indicator--00000000-0000-4000-8000-0000000000ff"]),
        headers=csirt.analyst.headers,
    )
    assert unknown.status_code == 422


def test_policy_names_every_non_clear_object():
    assert public_refusals([("a", Tlp.CLEAR)]) == []
    refusals = public_refusals([("a", Tlp.CLEAR), ("b", Tlp.GREEN), ("c", Tlp.RED)])
    assert len(refusals) == 2
    assert refusals[0].startswith("b is TLP:GREEN") and refusals[1].startswith("c is TLP:RED")


def test_bad_input_is_a_422_with_a_sentence(client: TestClient, csirt: Csirt):
    r = client.post(
        "/api/advisories", json=body(csirt, severity="apocalyptic"), headers=csirt.analyst.headers
    )
    assert r.status_code == 422 and "severity" in r.json()["message"]
    r = client.post(
        "/api/advisories", json=body(csirt, texts={"de": {}}), headers=csirt.analyst.headers
    )
    assert r.status_code == 422


def test_the_public_site_can_be_turned_off(settings, engine, csirt: Csirt):
    from minga.app import create_app

    off = settings.model_copy(update={"public_site": False})
    with TestClient(create_app(off, engine=engine)) as c:
        for path in (
            "/public/advisories",
            "/public/feeds/es.rss",
            "/.well-known/csaf/provider-metadata.json",
        ):
            assert c.get(path).status_code == 404, path
        assert c.get("/api/advisories", headers=csirt.analyst.headers).status_code == 200
