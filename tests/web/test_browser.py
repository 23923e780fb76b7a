"""Real-browser tests: Debian's chromium driven by Playwright against a real node (SQLite).

They skip when /usr/bin/chromium is missing, unless MINGA_REQUIRE_SERVICES=1 (CI), where they fail.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pyotp
import pytest

from tests.web.server import CHROMIUM, CHROMIUM_ARGS, DemoNode, demo_node, sign_in_page

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

playwright_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoNode]:
    with demo_node(tmp_path_factory.mktemp("browser-node")) as running:
        yield running


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


def _signed_in(browser, node: DemoNode, user: str, locale: str = "en-US"):
    """A browser context signed in as `user`: through the forms the first time, then reusing
    that session (a person's codes work once, so each test does not sign in again)."""
    options = {"locale": locale, "viewport": {"width": 1366, "height": 800}}
    if user in node.states:
        context = browser.new_context(storage_state=node.states[user], **options)
        page = context.new_page()
        page.goto(node.url + "/")
        assert page.url == node.url + "/"
        return context, page
    context = browser.new_context(**options)
    page = context.new_page()
    page.goto(node.url + "/")
    assert page.url.startswith(node.url + "/signin")
    sign_in_page(page, node, user)
    node.states[user] = context.storage_state()
    return context, page


def test_enrol_then_sign_in_with_a_code_and_end_the_other_session(browser, node: DemoNode):
    first, laptop = _signed_in(browser, node, "pablo.jimenez")  # enrols the app
    second = browser.new_context(locale="es-CR")
    phone = second.new_page()
    phone.goto(node.url + "/signin")
    phone.fill("#name", "pablo.jimenez")
    phone.fill("#password", node.passwords["pablo.jimenez"])
    phone.get_by_role("button", name="Continuar").click()
    assert phone.locator("h1").inner_text() == "Código de autenticación"
    # The enrolment used this step's code; the next step's is within the allowed drift.
    next_step = pyotp.TOTP(node.totp["pablo.jimenez"]).at(time.time() + 30)
    phone.fill("#code", next_step)
    phone.get_by_role("button", name="Iniciar sesión").click()
    phone.wait_for_url(node.url + "/")
    laptop.get_by_role("link", name="pablo.jimenez").click()
    assert laptop.locator("h1").inner_text() == "My account"
    assert laptop.locator("tr[data-session]").count() == 2
    laptop.get_by_role("button", name="End all other sessions").click()
    assert "1 session ended." in laptop.locator(".notice").inner_text()
    phone.reload()
    assert phone.url.startswith(node.url + "/signin")
    first.close()
    second.close()


def test_sign_in_and_switch_language(browser, node: DemoNode):
    context, page = _signed_in(browser, node, "ana.rojas", locale="es-CR")
    assert page.locator("h1").inner_text() == "Panel"
    page.get_by_role("link", name="Português").click()
    assert page.locator("h1").inner_text() == "Painel"
    page.get_by_role("link", name="Objetos", exact=True).click()
    assert page.locator("h1").inner_text() == "Objetos"  # the choice sticks across pages
    page.get_by_role("link", name="English").click()
    assert page.locator("h1").inner_text() == "Objects"
    context.close()


def test_keyboard_reaches_the_skip_link_first(browser, node: DemoNode):
    context, page = _signed_in(browser, node, "ana.rojas")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    context.close()


def test_publish_then_search_and_open_detail(browser, node: DemoNode):
    context, page = _signed_in(browser, node, "ana.rojas")
    page.get_by_role("link", name="Publish an indicator").click()
    page.select_option("#kind", "domain")
    page.fill("#value", "factura-hacienda-cr[.]com")
    page.fill("#name", "Hacienda invoice phishing")
    page.check("#tlp-green")
    page.check("#reach-connected")
    audience = page.locator("[data-audience]:visible")
    assert audience.inner_text() == (
        "Everyone on this node and on the nodes directly connected to it."
    )
    page.get_by_role("button", name="Publish").click()
    assert page.locator("h1").inner_text() == "Hacienda invoice phishing"
    assert "Published." in page.locator(".notice").inner_text()
    page.get_by_role("link", name="Objects", exact=True).click()
    page.fill("#q", "factura-hacienda")
    page.get_by_role("button", name="Filter").click()
    rows = page.locator("table.objects tbody tr")
    assert rows.count() == 1
    rows.get_by_role("link").click()
    assert (
        "[domain-name:value = 'factura-hacienda-cr.com']" in page.locator("dl.props").inner_text()
    )
    context.close()


def test_upload_a_report_review_and_publish(browser, node: DemoNode, tmp_path: Path):
    report = tmp_path / "alerta.txt"
    report.write_text(
        "Alerta: la campaña usa el dominio portal-ccss-citas.com y el servidor 45.9.148.101. "
        "Hash de la muestra: 44d88612fea8a8f36de82e1278abb02f.",
        encoding="utf-8",
    )
    context, page = _signed_in(browser, node, "ana.rojas")
    page.get_by_role("link", name="Publish a report").click()
    page.set_input_files("#file", str(report))
    page.get_by_role("button", name="Upload and extract").click()
    assert page.locator("table.iocs caption").inner_text() == "3 indicators found"
    assert page.locator("mark", has_text="portal-ccss-citas.com").count() == 1
    page.uncheck("#item-2")
    page.check("#tlp-green")
    page.get_by_role("button", name="Publish the selected indicators").click()
    assert "Published." in page.locator(".notice").inner_text()
    assert page.locator("a[href^='/objects/indicator--']").count() == 2
    context.close()


def test_amber_strict_object_of_one_org_never_reaches_another(browser, node: DemoNode):
    owner_ctx, owner = _signed_in(browser, node, "ana.rojas")  # CSIRT-CR
    owner.goto(node.url + "/publish/indicator")
    owner.select_option("#kind", "ipv4")
    owner.fill("#value", "203.0.113.77")
    owner.fill("#name", "Strict-only C2 address")
    owner.check("#tlp-amber-strict")
    owner.check("#reach-federation")
    assert owner.locator("[data-audience]:visible").inner_text() == "Only your organisation."
    owner.get_by_role("button", name="Publish").click()
    detail_url = owner.url.split("?")[0]
    stix_id = detail_url.rsplit("/", 1)[1]
    assert owner.locator("h1").inner_text() == "Strict-only C2 address"

    other_ctx, other = _signed_in(browser, node, "maria.lopez")  # CSIRT-GT
    assert stix_id not in other.content()  # dashboard
    for path in ["/objects", "/objects?q=203.0.113.77", "/objects?tlp=amber%2Bstrict"]:
        other.goto(node.url + path)
        assert stix_id not in other.content(), path
        assert "Strict-only" not in other.content(), path
    response = other.goto(detail_url)
    assert response is not None and response.status == 404
    assert "Strict-only" not in other.content()
    owner_ctx.close()
    other_ctx.close()
