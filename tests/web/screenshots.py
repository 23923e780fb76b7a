"""Screenshots of the main pages for the README: `python -m tests.web.screenshots`.

Runs a demo node and Debian's chromium; writes docs/screenshots/*.png.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import pyotp
from playwright.sync_api import sync_playwright

from tests.web.server import CHROMIUM, CHROMIUM_ARGS, DemoNode, demo_node, sign_in_page

OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
SITREP = "report--718e8be6-1f4a-457a-a122-4726fc00c065"
REPORT_TEXT = (
    "Alerta CSIRT-CR 2022-05: la campaña de phishing contra la CCSS usa el dominio "
    "citas-ccss-cr[.]com y el servidor 45.9.148.102 como C2. La muestra del cargador "
    "tiene MD5 44d88612fea8a8f36de82e1278abb02f. Ver también CVE-2021-44228 y T1566.001. "
    "La documentación de referencia está en https://www.cisa.gov/."
)


def take(node: DemoNode, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    shots: list[Path] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(locale="es-CR", viewport={"width": 1280, "height": 860})
        page = context.new_page()
        page.goto(node.url + "/signin?lang=es")
        page.fill("#name", "ana.rojas")
        page.fill("#password", node.passwords["ana.rojas"])
        page.press("#password", "Enter")
        page.wait_for_url("**/signin/enrol*")

        def shot(name: str, full: bool = False) -> None:
            path = out / f"{name}.png"
            page.screenshot(path=str(path), full_page=full)
            shots.append(path)

        shot("signin-enrol")
        secret = page.input_value("#secret").replace(" ", "")
        page.fill("#code", pyotp.TOTP(secret).now())
        page.press("#code", "Enter")
        page.wait_for_selector("ul.codes")
        page.click("a.button")
        page.wait_for_url(node.url + "/")
        page.goto(node.url + "/?lang=es")
        shot("dashboard", full=True)
        page.goto(node.url + "/objects?lang=es")
        shot("objects")
        page.goto(node.url + f"/objects/{SITREP}?lang=pt")
        shot("object-detail")
        page.goto(node.url + "/publish/indicator?lang=es")
        page.select_option("#kind", "domain")
        page.fill("#value", "citas-ccss-cr[.]com")
        page.check("#tlp-amber")
        page.check("#group-2")
        page.locator("#group-2").scroll_into_view_if_needed()
        shot("publish-indicator", full=True)
        report = Path(tempfile.mkdtemp()) / "alerta-csirt-cr.txt"
        report.write_text(REPORT_TEXT, encoding="utf-8")
        page.goto(node.url + "/upload?lang=es")
        page.set_input_files("#file", str(report))
        page.locator("button[type=submit]", has_text="Subir").click()
        page.wait_for_url("**/drafts/*")
        shot("upload-review")
        context.close()
        admin = browser.new_context(locale="en-GB", viewport={"width": 1280, "height": 860})
        page = admin.new_page()
        sign_in_page(page, node, "admin.hub")
        page.goto(node.url + "/admin/groups?lang=en")
        shot("admin-groups")
        page.goto(node.url + "/account/sessions?lang=en")
        shot("account-sessions")
        browser.close()
    return shots


def main() -> None:
    with demo_node(Path(tempfile.mkdtemp())) as node:
        for path in take(node, OUT):
            print(f"{path} {path.stat().st_size // 1024} KB")


if __name__ == "__main__":
    sys.exit(main())
