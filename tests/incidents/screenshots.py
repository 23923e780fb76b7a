"""Screenshots of an incident walked through the UI: `python -m tests.incidents.screenshots`.

Runs a demo node and Debian's chromium; writes docs/screenshots/incident-*.png. The CCSS
(victim) opens a ransomware incident with the Spanish playbook and escalates it to CSIRT-CR,
which sees it in "my deadlines", acknowledges it and escalates to the regional hub; the hub's
coordinator sees the board; the report is shown as HTML."""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path
from typing import Any

from playwright.sync_api import sync_playwright

from tests.web.server import CHROMIUM, CHROMIUM_ARGS, DemoNode, demo_node, sign_in_page

OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
INCIDENT = re.compile(r"/incidents/(\d+)$")


def take(node: DemoNode, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    shots: list[Path] = []

    def shot(page: Any, name: str, full: bool = True) -> None:
        path = out / f"incident-{name}.png"
        page.screenshot(path=str(path), full_page=full)
        shots.append(path)

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)

        def person(user: str, locale: str) -> Any:
            context = browser.new_context(locale=locale, viewport={"width": 1280, "height": 860})
            page = context.new_page()
            sign_in_page(page, node, user)
            return page

        victim = person("diego.mora", "es-CR")
        victim.goto(node.url + "/incidents/new?lang=es")
        victim.fill("#i-title", "Ransomware en servidores de expedientes")
        victim.select_option("#i-class", 'rsit:malicious-code="infected-system"')
        victim.select_option("#i-sev", "very-high")
        victim.fill("#i-desc", "Archivos cifrados en tres servidores; nota de rescate en cada uno.")
        victim.fill("#i-sec", "health")
        victim.fill("#i-cc", "CR")
        victim.select_option("#i-book", "ransomware")
        shot(victim, "new")
        victim.locator("form button[type=submit]").last.click()
        victim.wait_for_url(INCIDENT)
        found = INCIDENT.search(victim.url)
        assert found is not None
        first = found.group(1)
        victim.locator("details summary", has_text="Escalar").click()
        victim.select_option("#e-to", label="CSIRT-CR — MICITT (demo)")
        victim.check("#rd-affected")
        victim.fill("#e-h", "2")
        victim.locator("details form button[type=submit]").click()
        victim.wait_for_load_state()
        shot(victim, "page")

        csirt = person("ana.rojas", "es-CR")
        csirt.goto(node.url + "/incidents/my/deadlines?lang=es")
        shot(csirt, "my-deadlines", full=False)
        csirt.locator("a", has_text="Ransomware en servidores").first.click()
        csirt.locator("form[action$='/acknowledge'] button").click()
        csirt.wait_for_load_state()
        csirt.locator("details summary", has_text="Escalar").click()
        csirt.select_option("#e-to", label="Minga Regional Hub (demo)")
        csirt.locator("details form button[type=submit]").click()
        csirt.wait_for_load_state()
        csirt.goto(node.url + f"/incidents/{first}/escalation?lang=es")
        csirt.goto(csirt.url.replace(f"/incidents/{first}/", f"/incidents/{int(first) + 1}/"))
        shot(csirt, "escalation", full=False)

        victim.goto(node.url + "/incidents/my/tasks?lang=es")
        shot(victim, "my-tasks")
        victim.goto(node.url + f"/incidents/{first}/report.html?lang=en")
        shot(victim, "report")

        hub = person("sofia.castro", "en-GB")
        hub.goto(node.url + "/incidents?view=board&lang=en")
        shot(hub, "board", full=False)
        browser.close()
    return shots


def main() -> None:
    with demo_node(Path(tempfile.mkdtemp())) as node:
        for path in take(node, OUT):
            print(f"{path} {path.stat().st_size // 1024} KB")


if __name__ == "__main__":
    sys.exit(main())
