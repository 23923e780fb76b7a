"""The advisory desk (signed-in pages): draft in three languages, publish, refuse a non-CLEAR
link with its name, publish an update, withdraw."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.advisories.conftest import Csirt
from tests.web.conftest import csrf_of, other_client, sign_in


def _form(csrf: str, csirt: Csirt, links: str, **extra: str) -> dict[str, str]:
    return {
        "csrf": csrf,
        "title_es": "Ola de phishing",
        "summary_es": "Correos falsos de Hacienda.",
        "what_to_do_es": "No abra los enlaces.",
        "title_en": "Phishing wave",
        "summary_en": "Fake tax office e-mails.",
        "what_to_do_en": "Do not open the links.",
        "category": "phishing",
        "severity": "high",
        "sectors": "citizens, Finance",
        "products": "",
        "cves": "",
        "references": "https://example.org/alert\n",
        "links": links,
        **extra,
    }


def test_draft_publish_update_withdraw_on_the_desk(client: TestClient, csirt: Csirt):
    csrf = sign_in(client, csirt.analyst.token)
    assert client.get("/advisories/new").status_code == 200
    r = client.post(
        "/advisories",
        data=_form(csrf, csirt, f"{csirt.clear_indicator}\n{csirt.amber_indicator}"),
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    page = r.headers["location"].split("?")[0]
    tracking_id = page.rsplit("/", 1)[1]
    shown = client.get(r.headers["location"] + "&lang=en")
    assert "Phishing wave" in shown.text and "Draft saved." in shown.text
    assert "Publish to the public" not in shown.text  # an analyst does not publish

    coordinator = other_client(client)
    csrf2 = sign_in(coordinator, csirt.coordinator.token)
    shown = coordinator.get(page + "?lang=es")
    assert "Ola de phishing" in shown.text and "Publicar para el público" in shown.text
    refused = coordinator.post(f"{page}/publish", data={"csrf": csrf2, "summary": ""})
    assert refused.status_code == 403
    assert csirt.amber_indicator in refused.text and "TLP:AMBER" in refused.text

    # The analyst takes the AMBER link out; the coordinator publishes.
    r = client.post(f"{page}/edit", data=_form(csrf, csirt, csirt.clear_indicator))
    assert r.status_code == 200 and "Draft saved." in r.text
    r = coordinator.post(f"{page}/publish", data={"csrf": csrf2, "summary": "First release"})
    assert r.status_code == 200 and "Publicada en el sitio público." in r.text
    public = coordinator.get(f"/public/advisories/{tracking_id}?lang=en")
    assert public.status_code == 200 and "Phishing wave" in public.text

    form = coordinator.get(f"{page}/edit?lang=en")
    assert "Publish the update" in form.text and csrf_of(form.text) == csrf2
    r = coordinator.post(
        f"{page}/edit",
        data=_form(csrf2, csirt, csirt.clear_indicator, what_to_do_en="Delete the e-mail."),
    )
    assert r.status_code == 422 and "summary must say what changed" in r.text
    r = coordinator.post(
        f"{page}/edit",
        data=_form(
            csrf2, csirt, csirt.clear_indicator, what_to_do_en="Delete it.", summary="Advice"
        ),
    )
    assert r.status_code == 200 and "Update published." in r.text
    assert "Delete it." in coordinator.get(f"/public/advisories/{tracking_id}?lang=en").text

    r = coordinator.post(f"{page}/withdraw", data={"csrf": csrf2, "reason": "Duplicate alert"})
    assert r.status_code == 200 and "Withdrawn." in r.text  # English, as chosen last
    listing = client.get("/advisories?lang=en")
    assert tracking_id in listing.text and "Withdrawn" in listing.text
    # Another organisation sees the public advisory, never a draft.
    r = client.post("/advisories", data=_form(csrf, csirt, ""), follow_redirects=False)
    second = r.headers["location"].split("?")[0].rsplit("/", 1)[1]
    outsider = other_client(client)
    sign_in(outsider, csirt.outsider.token)
    seen = outsider.get("/advisories")
    assert tracking_id in seen.text and second not in seen.text
    assert outsider.get(f"/advisories/{second}").status_code == 404
    assert outsider.get("/advisories/new").status_code == 200  # its own drafts, its own org


def test_start_a_campaign_on_the_desk(client: TestClient, csirt: Csirt):
    from tests.advisories.conftest import body

    r = client.post("/api/advisories", json=body(csirt), headers=csirt.analyst.headers)
    tracking_id = r.json()["tracking_id"]
    client.post(f"/api/advisories/{tracking_id}/publish", headers=csirt.coordinator.headers)
    analyst = other_client(client)
    sign_in(analyst, csirt.analyst.token)
    assert analyst.get("/advisories/campaigns/new").status_code == 403
    csrf = sign_in(client, csirt.coordinator.token)
    form = client.get("/advisories/campaigns/new?lang=en")
    assert tracking_id in form.text
    data = {
        "csrf": csrf,
        "slug": "log4j-patch-week",
        "starts_on": "2026-01-10",
        "ends_on": "2026-01-05",
        "title_en": "Patch week",
        "theme_en": "Update what faces the Internet.",
        "tips_en": "Update Log4j.\n\nCheck your VPN.\n",
        "advisory": tracking_id,
    }
    bad = client.post("/advisories/campaigns", data=data)
    assert bad.status_code == 422 and "ends_on must not be before starts_on" in bad.text
    assert 'value="log4j-patch-week"' in bad.text  # what was typed is kept
    r = client.post(
        "/advisories/campaigns", data={**data, "ends_on": "2026-01-20"}, follow_redirects=False
    )
    assert r.status_code == 303
    assert r.headers["location"].startswith("/public/campaigns/log4j-patch-week")
    landing = client.get("/public/campaigns/log4j-patch-week?lang=en")
    assert "Patch week" in landing.text and "Check your VPN." in landing.text
    assert "Critical vulnerability in Log4j" in landing.text
