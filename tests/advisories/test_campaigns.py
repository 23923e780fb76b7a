"""Awareness campaigns: a landing page with the theme, tips and advisories; views counted per
page per day, with nothing about the people who viewed them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import inspect

from minga.advisories.models import PageView
from tests.advisories.conftest import Csirt, body


def _campaign(csirt: Csirt, tracking_id: str, **changes) -> dict:
    today = datetime.now(UTC).date()
    data = {
        "slug": "tax-season-phishing",
        "starts_on": (today - timedelta(days=3)).isoformat(),
        "ends_on": (today + timedelta(days=30)).isoformat(),
        "texts": {
            "es": {
                "title": "Phishing en temporada de impuestos",
                "theme": "Los delincuentes se hacen pasar por Hacienda.",
                "tips": ["Hacienda nunca pide su clave por correo.", "Escriba la dirección."],
            },
            "en": {
                "title": "Phishing in tax season",
                "theme": "Criminals pretend to be the tax office.",
                "tips": ["The tax office never asks for your password by e-mail."],
            },
        },
        "advisories": [tracking_id],
    }
    data.update(changes)
    return data


def test_campaign_landing_page_and_page_views(client: TestClient, csirt: Csirt):
    r = client.post("/api/advisories", json=body(csirt), headers=csirt.analyst.headers)
    tracking_id = r.json()["tracking_id"]
    client.post(f"/api/advisories/{tracking_id}/publish", headers=csirt.coordinator.headers)
    refused = client.post(
        "/api/advisories/campaigns",
        json=_campaign(csirt, tracking_id),
        headers=csirt.analyst.headers,
    )
    assert refused.status_code == 403  # campaigns are the coordinators'
    r = client.post(
        "/api/advisories/campaigns",
        json=_campaign(csirt, tracking_id),
        headers=csirt.coordinator.headers,
    )
    assert r.status_code == 201, r.text
    assert r.json()["public_url"].endswith("/public/campaigns/tax-season-phishing")
    unknown = client.post(
        "/api/advisories/campaigns",
        json=_campaign(csirt, "NOPE-2026-0001", slug="other"),
        headers=csirt.coordinator.headers,
    )
    assert unknown.status_code == 422

    client.cookies.clear()
    page = "/public/campaigns/tax-season-phishing"
    es = client.get(f"{page}?lang=es")
    assert es.status_code == 200 and "set-cookie" not in es.headers
    assert "Phishing en temporada de impuestos" in es.text
    assert "Hacienda nunca pide su clave por correo." in es.text
    assert "Vulnerabilidad crítica en Log4j" in es.text  # the advisory, in Spanish
    pt = client.get(f"{page}?lang=pt")  # no Portuguese text: the first written, marked
    assert 'lang="es"' in pt.text and "Phishing en temporada de impuestos" in pt.text
    listing = client.get("/public/advisories?lang=en")
    assert "Phishing in tax season" in listing.text  # a running campaign is announced

    views = client.get(
        "/api/advisories/page-views", params={"page": page}, headers=csirt.analyst.headers
    ).json()
    assert views == [{"page": page, "day": datetime.now(UTC).date().isoformat(), "views": 2}]
    # The counter table holds the page, the day and a number: nothing about who looked.
    columns = {c["name"] for c in inspect(client.app.state.node.engine).get_columns(
        PageView.__tablename__
    )}  # fmt: skip
    assert columns == {"page", "day", "views"}


def test_campaign_period_is_checked(client: TestClient, csirt: Csirt):
    bad = _campaign(csirt, "X", starts_on=date(2026, 5, 1).isoformat(), ends_on="2026-04-01")
    bad["advisories"] = []
    r = client.post("/api/advisories/campaigns", json=bad, headers=csirt.coordinator.headers)
    assert r.status_code == 422 and "ends_on" in r.json()["message"]
