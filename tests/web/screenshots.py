"""Screenshots of the main pages for the README: `python -m tests.web.screenshots`.

Runs a demo node and Debian's chromium; writes docs/screenshots/*.png.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

from minga.accounts import service as accounts
from minga.db import make_engine, make_sessionmaker, unit_of_work
from tests.web.server import CHROMIUM, CHROMIUM_ARGS, DemoNode, demo_node

OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
SITREP = "report--718e8be6-1f4a-457a-a122-4726fc00c065"
REPORT_TEXT = (
    "Alerta CSIRT-CR 2022-05: la campaña de phishing contra la CCSS usa el dominio "
    "citas-ccss-cr[.]com y el servidor 45.9.148.102 como C2. La muestra del cargador "
    "tiene MD5 44d88612fea8a8f36de82e1278abb02f. Ver también CVE-2021-44228 y T1566.001. "
    "La documentación de referencia está en https://www.cisa.gov/."
)


def _admin_token(node: DemoNode) -> str:
    engine = make_engine(node.db_url)
    with unit_of_work(make_sessionmaker(engine)) as session:
        admin = accounts.find_user(session, "admin.hub")
        _, issued = accounts.issue_token(session, None, user_id=admin.id, label="screenshots")
    engine.dispose()
    return issued.token


def _sign_in(page: Page, node: DemoNode, token: str) -> None:
    page.goto(node.url + "/signin")
    page.fill("#token", token)
    page.press("#token", "Enter")
    page.wait_for_url(node.url + "/")


def take(node: DemoNode, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    shots: list[Path] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(locale="es-CR", viewport={"width": 1280, "height": 860})
        page = context.new_page()
        _sign_in(page, node, node.tokens["ana.rojas"])

        def shot(name: str, full: bool = False) -> None:
            path = out / f"{name}.png"
            page.screenshot(path=str(path), full_page=full)
            shots.append(path)

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
        _sign_in(page, node, _admin_token(node))
        page.goto(node.url + "/admin/groups?lang=en")
        shot("admin-groups")
        browser.close()
    return shots


def main() -> None:
    with demo_node(Path(tempfile.mkdtemp())) as node:
        for path in take(node, OUT):
            print(f"{path} {path.stat().st_size // 1024} KB")


if __name__ == "__main__":
    sys.exit(main())
