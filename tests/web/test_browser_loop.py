"""The analyst's daily loop in a real browser (Debian's chromium), in Spanish, on a phone
(390 px) and a laptop (1280 px): publish a report and an indicator, find the indicator, change
it from its page, export it. No page visited may be wider than the window.

Skips when /usr/bin/chromium is missing, unless MINGA_REQUIRE_SERVICES=1 (CI), where it fails.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from minga.intel.stix import TLP2_MARKING_ID
from minga.policy import Tlp
from tests.web.server import CHROMIUM, CHROMIUM_ARGS, DemoNode, demo_node, sign_in_page

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

playwright_api = pytest.importorskip("playwright.sync_api")

REPORT = """TLP:AMBER

Campaña de phishing contra municipalidades

Resumen ejecutivo

Entre marzo y abril de 2025 el grupo envió correos con el adjunto Planilla_Marzo_2025.zip a
funcionarios de municipalidades de Costa Rica. El adjunto instala un cargador que contacta
el servidor 185.220.101.4 y descarga la segunda fase de hxxps://descargas-muni[.]com/p.php.

Indicadores
SHA-256 de la planilla: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
"""


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoNode]:
    with demo_node(tmp_path_factory.mktemp("loop-node")) as running:
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


@pytest.fixture(scope="module")
def signed_in_state(browser, node: DemoNode) -> object:
    """ana.rojas (analyst, CSIRT-CR) signed in once; each viewport reuses the session."""
    context = browser.new_context(locale="es-CR")
    page = context.new_page()
    sign_in_page(page, node, "ana.rojas")
    state = context.storage_state()
    context.close()
    return state


def _fits(page, visited: list[str]) -> None:
    """The page is no wider than the window (nothing scrolls sideways but inside wrappers)."""
    page.wait_for_load_state("load")
    width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    visited.append(page.url)
    assert width[0] <= width[1], f"{page.url} is {width[0]} px wide in a {width[1]} px window"


@pytest.mark.parametrize(("width", "last_octet"), [(390, 41), (1280, 42)])
def test_analyst_loop_in_spanish(
    browser, node: DemoNode, signed_in_state, tmp_path: Path, width: int, last_octet: int
):
    context = browser.new_context(
        locale="es-CR",
        viewport={"width": width, "height": 900},
        storage_state=signed_in_state,
        accept_downloads=True,
    )
    page = context.new_page()
    visited: list[str] = []
    page.goto(node.url + "/?lang=es")
    assert page.locator("h1").inner_text() == "Panel"
    _fits(page, visited)

    # Publish a report: one menu entry, the file's own words and TLP line on the review page.
    report = tmp_path / "campana-municipal.txt"
    report.write_text(REPORT, encoding="utf-8")
    page.get_by_role("link", name="Publicar un informe").click()
    _fits(page, visited)
    page.set_input_files("#file", str(report))
    page.get_by_role("button", name="Subir y extraer").click()
    page.wait_for_url("**/drafts/*")
    _fits(page, visited)
    assert page.input_value("#name") == "Campaña de phishing contra municipalidades"
    assert page.input_value("#description").startswith("Entre marzo y abril de 2025")
    assert page.is_checked("#tlp-amber")
    assert page.locator("td.type", has_text="Nombre de archivo").count() == 1
    page.fill("#name", f"Phishing municipal ({width} px)")
    page.get_by_role("button", name="Publicar los indicadores marcados").click()
    page.wait_for_url("**/objects/report--*")
    _fits(page, visited)
    assert page.locator("h1").inner_text() == f"Phishing municipal ({width} px)"
    assert "Indicadores revisados del informe" in page.locator("dl.props").inner_text()

    # Publish an indicator, then find it.
    value = f"203.0.113.{last_octet}"
    page.get_by_role("link", name="Publicar un indicador").click()
    _fits(page, visited)
    page.select_option("#kind", "ipv4")
    page.fill("#value", value)
    page.fill("#name", f"C2 del cargador {last_octet}")
    page.check("#tlp-amber")
    page.get_by_role("button", name="Publicar", exact=True).click()
    page.wait_for_url("**/objects/indicator--*")
    _fits(page, visited)
    page.get_by_role("link", name="Objetos", exact=True).click()
    _fits(page, visited)
    page.fill("#q", value)
    page.select_option("#type", "indicator")
    page.get_by_role("button", name="Filtrar").click()
    _fits(page, visited)
    rows = page.locator("table.objects tbody tr")
    assert rows.count() == 1
    assert rows.locator("td.type").inner_text() == "Indicador"
    rows.get_by_role("link").click()
    page.wait_for_url("**/objects/indicator--*")
    _fits(page, visited)

    # Act on it from its page: a new version with another name, an expiry and TLP:GREEN.
    page.get_by_role("link", name="Cambiar (nueva versión, TLP, vencimiento)").click()
    _fits(page, visited)
    page.fill("#name", f"C2 del cargador {last_octet} (confirmado)")
    page.fill("#valid_until", "2099-06-30T12:00")
    page.check("#tlp-green")
    page.get_by_role("button", name="Guardar como nueva versión").click()
    page.wait_for_url("**/objects/indicator--*saved=1")
    _fits(page, visited)
    assert "Guardado" in page.locator(".notice").inner_text()
    assert page.locator("h1").inner_text() == f"C2 del cargador {last_octet} (confirmado)"

    # Export it.
    with page.expect_download() as info:
        page.get_by_role("link", name="Exportar (STIX JSON)").click()
    bundle = orjson.loads(Path(info.value.path()).read_bytes())
    (obj,) = bundle["objects"]
    assert obj["name"] == f"C2 del cargador {last_octet} (confirmado)"
    assert obj["valid_until"].startswith("2099-06-30T12:00:00")
    assert TLP2_MARKING_ID[Tlp.GREEN] in obj["object_marking_refs"]

    # A page that does not exist keeps the navigation (and fits too).
    page.goto(node.url + "/objects/indicator--00000000-0000-4000-8000-000000000000")
    assert page.locator("nav.main-nav").count() == 1
    _fits(page, visited)
    assert len(visited) >= 12
    context.close()
