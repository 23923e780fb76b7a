"""Screenshots of the assessment pages: `python -m tests.assessments.screenshots`.

Runs a demo node, fills in a national CMM assessment for Costa Rica (two years), a CSF
assessment for the CCSS, a few risks and a situation report, then takes Debian chromium
through the pages; writes docs/screenshots/assessment-*.png."""

from __future__ import annotations

import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path

from playwright.sync_api import sync_playwright
from sqlalchemy.orm import Session

from minga.accounts import service as accounts
from minga.assessments import cmm, csf, evidence, frameworks, risks, sitrep
from minga.db import make_engine, make_sessionmaker, unit_of_work
from minga.policy import Principal
from minga.web.i18n import load_catalogs
from tests.web.server import CHROMIUM, CHROMIUM_ARGS, DemoNode, demo_node, sign_in_page

OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
GCI = {
    "legal": 16.5,
    "technical": 12.1,
    "organizational": 14.0,
    "capacity_development": 11.2,
    "cooperation": 15.8,
}
WHY = {
    1: "Sin política formal; iniciativas aisladas.",
    2: "Hay un borrador y acciones ad hoc; faltan recursos asignados.",
    3: "Funciona y está definido; revisado con el MICITT en el taller nacional.",
    4: "Prioridades y recursos decididos por el comité nacional.",
}


def _me(s: Session, name: str) -> Principal:
    return accounts.principal_for(s, accounts.find_user(s, name))


def seed(node: DemoNode) -> dict[str, int]:
    engine = make_engine(node.db_url)
    sessions = make_sessionmaker(engine)
    ids: dict[str, int] = {}
    with unit_of_work(sessions) as s:
        ana = _me(s, "ana.rojas")
        links = evidence.for_country(s, ana, "CR", load_catalogs()["es"].gettext)
        for year, bump in ((2024, 0), (2025, 1)):
            row = cmm.create(s, ana, year)
            ids[f"cmm{year}"] = row.id
            for i, aspect in enumerate(frameworks.cmm().aspects):
                stage = min(4, (i * 7) % 3 + 1 + (bump if i % 2 else 0))
                found = [link.as_dict() for link in links.get(aspect.factor_id, [])[:2]]
                cmm.answer(
                    s,
                    ana,
                    row.id,
                    aspect.key,
                    stage=stage,
                    justification=WHY[stage],
                    evidence=found,
                )
            cmm.set_gci(s, ana, row.id, "GCI 2024", GCI)
            cmm.complete(s, ana, row.id)
        diego = _me(s, "diego.mora")
        a = csf.create(s, diego, "CCSS — autoevaluación 2025")
        ids["csf"] = a.id
        for i, sub in enumerate(frameworks.csf().subcategories):
            current = (i % 3) + 1
            target = min(4, current + (i % 2) + (1 if sub.id.startswith(("GV", "RS")) else 0))
            csf.answer(
                s,
                diego,
                a.id,
                sub.id,
                current=current,
                target=target,
                importance=(i % 3) + 1,
                action=f"Plan de mejora {sub.id}" if target > current else "",
                owner=["CISO", "Jefatura TI", "Oficina de Riesgos"][i % 3],
                due_on=date(2026, 3 + i % 9, 1 + i % 27) if target > current else None,
            )
        pablo = _me(s, "pablo.jimenez")
        threats = risks.threat_suggestions(s, pablo, "ransomware")
        today = date.today()
        for asset, threat, lk, im, days, refs in [
            (
                "Portal ATV (declaraciones)",
                "Ransomware contra servicios públicos",
                4,
                5,
                7,
                threats[:1],
            ),
            ("Correo institucional", "Phishing dirigido a funcionarios", 4, 3, 40, []),
            ("Sistema TICA (aduanas)", "Intrusión por VPN sin parchear", 3, 5, -3, []),
            ("Sitio web público", "Desfiguración y DDoS", 3, 2, 120, []),
            ("Respaldos en la nube", "Borrado por credenciales robadas", 2, 4, 60, []),
        ]:
            risks.create(
                s,
                pablo,
                risks.RiskIn(
                    asset=asset,
                    threat=threat,
                    likelihood=lk,
                    impact=im,
                    owner="CISO Hacienda",
                    threat_refs=tuple(t.stix_id for t in refs),
                    treatment="mitigate",
                    review_on=today + timedelta(days=days),
                ),
            )
        sitrep.store(s, ["es"], 30, "minga-demo")
    engine.dispose()
    return ids


def take(node: DemoNode, out: Path, ids: dict[str, int]) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    shots: list[Path] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)

        def shot(page, name: str, full: bool = True) -> None:  # type: ignore[no-untyped-def]
            path = out / f"assessment-{name}.png"
            page.screenshot(path=str(path), full_page=full)
            shots.append(path)

        for user, lang, pages in [
            (
                "ana.rojas",
                "es",
                [
                    (f"/assessments/cmm/{ids['cmm2025']}", "cmm"),
                    (f"/assessments/cmm/{ids['cmm2025']}/factors/D1.2", "cmm-factor"),
                    ("/assessments/cmm", "cmm-list"),
                ],
            ),
            (
                "diego.mora",
                "pt",
                [
                    (f"/assessments/csf/{ids['csf']}", "csf"),
                    (f"/assessments/csf/{ids['csf']}/categories/GV.OC", "csf-category"),
                ],
            ),
            ("pablo.jimenez", "es", [("/risks", "risks"), ("/risks/new?q=ransomware", "risk-new")]),
            ("admin.hub", "en", [("/sitrep", "sitrep")]),
        ]:
            context = browser.new_context(viewport={"width": 1280, "height": 1200})
            page = context.new_page()
            sign_in_page(page, node, user)
            for path, name in pages:
                sep = "&" if "?" in path else "?"
                page.goto(f"{node.url}{path}{sep}lang={lang}")
                shot(page, name, full=name not in ("cmm-factor", "csf-category", "csf"))
            context.close()
        browser.close()
    return shots


def main() -> None:
    with demo_node(Path(tempfile.mkdtemp())) as node:
        ids = seed(node)
        for path in take(node, OUT, ids):
            print(f"{path} {path.stat().st_size // 1024} KB")


if __name__ == "__main__":
    sys.exit(main())
