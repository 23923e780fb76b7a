"""The public site in a real browser (Debian's chromium): readable at 390 px with no
horizontal overflow, in es/pt/en, with no cookie set and nothing loaded from elsewhere."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.advisories.seed import seed
from tests.web.server import CHROMIUM, CHROMIUM_ARGS, DemoNode, demo_node

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

playwright_api = pytest.importorskip("playwright.sync_api")
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DemoNode, list[str]]]:
    with demo_node(tmp_path_factory.mktemp("public-node")) as running:
        yield running, seed(running.db_url)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("MINGA_REQUIRE_SERVICES") == "1":
            pytest.fail(f"{CHROMIUM} is required (MINGA_REQUIRE_SERVICES=1) but missing")
        pytest.skip(f"{CHROMIUM} is not installed")
    with playwright_api.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.mark.parametrize("lang", ["es", "pt", "en"])
def test_public_pages_fit_a_phone_without_cookies(browser, node, lang: str):
    running, ids = node
    context = browser.new_context(
        locale={"es": "es-CR", "pt": "pt-BR", "en": "en-GB"}[lang], viewport=PHONE
    )
    page = context.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    for path in (
        "/public/advisories",
        f"/public/advisories/{ids[1]}",
        f"/public/advisories/{ids[0]}",
        "/public/campaigns/phishing-impuestos",
        "/public/advisories?q=phishing",
    ):
        page.goto(running.url + path)  # the language comes from the browser
        assert page.locator("html").get_attribute("lang") == lang, path
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], (path, width)
        wide = page.evaluate(
            "[...document.querySelectorAll('main *')]"
            ".filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)"
            ".map(e => e.tagName + '.' + e.className)"
        )
        assert wide == [], (path, wide)
    assert context.cookies() == []
    assert all(url.startswith(running.url) for url in requested), requested
    context.close()


def test_switch_language_and_search(browser, node):
    running, _ = node
    context = browser.new_context(locale="es-CR", viewport=PHONE)
    page = context.new_page()
    page.goto(running.url + "/public/advisories")
    assert page.locator("h1").inner_text() == "Alertas públicas"
    assert page.get_by_text("Phishing en temporada de impuestos").count() == 1  # the campaign
    page.get_by_role("link", name="Português").click()
    assert page.locator("h1").inner_text() == "Alertas públicos"
    page.fill("input[name=q]", "FortiOS")
    page.get_by_role("button", name="Pesquisar").click()
    items = page.locator("ul.items li h2")
    assert items.count() == 1
    assert "FortiOS SSL-VPN" in items.inner_text()
    items.get_by_role("link").click()
    assert page.locator("h1").inner_text().startswith("Vulnerabilidade crítica explorada")
    assert page.get_by_role("link", name="CSAF 2.0").count() == 1
    assert context.cookies() == []
    context.close()
