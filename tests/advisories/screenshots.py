"""Screenshots of the public site in es/pt/en for the README:
`python -m tests.advisories.screenshots` (a demo node, its advisories, Debian's chromium).

Writes docs/screenshots/advisories-public-{es,pt,en}.png."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from tests.advisories.seed import seed
from tests.web.server import CHROMIUM, CHROMIUM_ARGS, demo_node

OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1100, "height": 760}


def take(url: str, ids: list[str], out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    shots = [
        ("es", PHONE, "/public/advisories?lang=es"),
        ("pt", PHONE, f"/public/advisories/{ids[1]}?lang=pt"),
        ("en", DESKTOP, "/public/campaigns/phishing-impuestos?lang=en"),
    ]
    written: list[Path] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for lang, viewport, path in shots:
            context = browser.new_context(viewport=viewport, device_scale_factor=1)
            page = context.new_page()
            page.goto(url + path)
            target = out / f"advisories-public-{lang}.png"
            page.screenshot(path=str(target))
            written.append(target)
            context.close()
        browser.close()
    return written


def main() -> None:
    with demo_node(Path(tempfile.mkdtemp())) as node:
        ids = seed(node.db_url)
        for path in take(node.url, ids, OUT):
            print(f"{path} {path.stat().st_size // 1024} KB")


if __name__ == "__main__":
    sys.exit(main())
