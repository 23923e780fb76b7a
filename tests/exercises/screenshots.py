"""Screenshots of a drill run through the UI: `python -m tests.exercises.screenshots`.

Runs a demo node and Debian's chromium; writes docs/screenshots/drill-*.png. CSIRT-CR's
coordinator runs the Costa Rica 2022 scenario at 120× for the Ministry of Finance and the CCSS;
the Ministry acknowledges the first incident, escalates it to CSIRT-CR, publishes the indicator
and answers the challenge; the CCSS does nothing; the control room scores them; the
after-action report closes the drill."""

from __future__ import annotations

import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import sync_playwright

from tests.web.server import CHROMIUM, CHROMIUM_ARGS, DemoNode, demo_node, sign_in_page

OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
EXERCISE = re.compile(r"/exercises/(\d+)$")
SPEED = 120  # exercise minutes per real minute: the question at 23 s, the last inject at 55 s
COSTA_RICA = "Ransomware against public services (modelled on Costa Rica 2022)"


def take(node: DemoNode, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    shots: list[Path] = []

    def shot(page: Any, name: str, full: bool = True) -> None:
        path = out / f"drill-{name}.png"
        page.screenshot(path=str(path), full_page=full)
        shots.append(path)

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)

        def person(user: str, locale: str) -> Any:
            context = browser.new_context(locale=locale, viewport={"width": 1280, "height": 860})
            page = context.new_page()
            sign_in_page(page, node, user)
            return page

        director = person("jorge.vargas", "es-CR")
        team = person("pablo.jimenez", "es-CR")
        director.goto(node.url + "/exercises?lang=es")
        director.locator("a", has_text="Costa Rica 2022").first.click()
        director.wait_for_load_state()
        shot(director, "scenario")
        director.goto(node.url + "/exercises?lang=es")
        director.select_option("select[name=scenario]", label=COSTA_RICA)
        director.fill("input[name=name]", "Simulacro nacional de ransomware")
        director.fill("input[name=speed]", str(SPEED))
        director.check("label:has-text('Ministerio de Hacienda') input")
        director.check("label:has-text('CCSS') input")
        shot(director, "new")
        director.locator("form[action='/exercises'] button[type=submit]").click()
        director.wait_for_url(EXERCISE)
        exercise = director.url.rsplit("/", 1)[1]
        director.locator("form[action$='/state/start'] button").click()
        director.wait_for_load_state()
        started = time.monotonic()

        def at_minute(minute: float) -> None:
            time.sleep(max(0.0, minute * 60 / SPEED - (time.monotonic() - started)))
            team.goto(node.url + f"/exercises/{exercise}?lang=es")

        at_minute(0)
        case = team.locator("article", has_text="Sistemas de Hacienda fuera de servicio")
        case.locator("form[action*='/ack/'] button").click()
        team.wait_for_load_state()
        team.locator("a", has_text="en el espacio del ejercicio").first.click()
        team.wait_for_load_state()
        team.locator("details summary", has_text="Escalar").click()
        team.select_option("#e-to", label="CSIRT-CR — MICITT (demo)")
        team.locator("details form button[type=submit]").click()
        team.wait_for_load_state()
        shot(team, "incident", full=False)
        at_minute(21)
        team.fill(
            "form[action$='/indicator'] input[name=pattern]", "[ipv4-addr:value = '203.0.113.45']"
        )
        team.fill("form[action$='/indicator'] input[name=name]", "C2 visto en el cortafuegos")
        team.locator("form[action$='/indicator'] button").click()
        team.wait_for_load_state()
        at_minute(46)
        team.fill("form[action*='/answer/'] input[name=answer]", "Conti")
        team.locator("form[action*='/answer/'] button").click()
        team.wait_for_load_state()
        shot(team, "team")

        time.sleep(max(0.0, 112 * 60 / SPEED - (time.monotonic() - started)))
        director.goto(node.url + f"/exercises/{exercise}?lang=es")
        shot(director, "control-room")
        director.locator("form[action$='/state/end'] button").click()
        director.wait_for_load_state()
        director.fill("form[action$='/actions'] input[name=title]",
                      "Lista de contactos fuera de banda para la CCSS")  # fmt: skip
        director.select_option("form[action$='/actions'] select[name=org]",
                               label="CCSS — Seguridad de la Información (demo)")  # fmt: skip
        director.locator("form[action$='/actions'] button").click()
        director.wait_for_load_state()
        director.goto(node.url + f"/exercises/{exercise}/report.html?lang=es")
        shot(director, "report")
        browser.close()
    return shots


def main() -> None:
    with demo_node(Path(tempfile.mkdtemp())) as node:
        for path in take(node, OUT):
            print(f"{path} {path.stat().st_size // 1024} KB")


if __name__ == "__main__":
    sys.exit(main())
