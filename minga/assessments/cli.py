"""`minga assessments sitrep`, `minga assessments risks-due` and `minga assessments frameworks`:
situation reports rendered (and stored) from the command line or a cron job, review reminders
of the risk register, and what the shipped questionnaires hold."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session

from minga.accounts.models import Organisation
from minga.assessments import frameworks, risks, sitrep
from minga.assessments.models import Risk
from minga.settings import Settings

assessments_app = typer.Typer(
    no_args_is_help=True,
    help="Capacity and risk: situation reports, risk reviews, the CMM and CSF questionnaires.",
)
out = Console()
err = Console(stderr=True)


def _scope() -> AbstractContextManager[Session]:
    from minga.cli import session_scope

    return session_scope()


def _settings() -> Settings:
    return Settings()


@assessments_app.command("sitrep")
def sitrep_command(
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Write the report here (.pdf or .html).")
    ] = None,
    lang: Annotated[str, typer.Option(help="es, pt or en")] = "es",
    days: Annotated[int, typer.Option(min=6, max=3660, help="Days the report covers.")] = 30,
    country: Annotated[str, typer.Option(help="Only this country (ISO code).")] = "",
    sector: Annotated[str, typer.Option(help="Only this sector.")] = "",
    store: Annotated[
        bool,
        typer.Option(
            "--store",
            help="Render it in every MINGA_SITREP_LANGUAGES and keep it on the node (what "
            "`minga serve` does every MINGA_SITREP_HOURS).",
        ),
    ] = False,
) -> None:
    """The regional situation report as the node operator sees the node."""
    if out_file is None and not store:
        err.print("[bold red]error:[/] say where: --out FILE (.pdf or .html), or --store")
        raise typer.Exit(2)
    if lang not in ("es", "pt", "en"):
        err.print(f"[bold red]error:[/] unknown language {lang!r}: use es, pt or en")
        raise typer.Exit(2)
    if out_file is not None and out_file.suffix.lower() not in (".pdf", ".html"):
        err.print("[bold red]error:[/] the report is written as .pdf or .html")
        raise typer.Exit(2)
    settings = _settings()
    with _scope() as session:
        view = sitrep.operator_view(session)
        if view is None:
            err.print("[bold red]error:[/] no node operator yet: run `minga init` first")
            raise typer.Exit(2)
        if store:
            made = sitrep.store(session, settings.sitrep_language_list, days, settings.node_name)
            out.print(f"stored {len(made)} situation reports ({', '.join(m.lang for m in made)})")
        if out_file is not None:
            data = sitrep.collect(
                session, view, period_days=days, country=country.upper(), sector=sector
            )
            if out_file.suffix.lower() == ".pdf":
                out_file.write_bytes(sitrep.render_pdf(data, lang, settings.node_name))
            else:
                html = sitrep.render_document(data, lang, settings.node_name)
                out_file.write_text(html, encoding="utf-8")
            out.print(f"wrote {escape(str(out_file))}")


@assessments_app.command("risks-due")
def risks_due_command(
    days: Annotated[
        int | None,
        typer.Option(help="Notice in days (default MINGA_RISK_REVIEW_NOTICE_DAYS)."),
    ] = None,
) -> None:
    """Open risks of every organisation whose review is due (or overdue): the reminder list."""
    notice = days if days is not None else _settings().risk_review_notice_days
    with _scope() as session:
        due = risks.due(session, date.today(), notice)
        orgs = {o.id: o.name for o in session.scalars(select(Organisation))}
    _print_due(due, orgs)


def _print_due(due: Sequence[Risk], orgs: dict[int, str]) -> None:
    table = Table("organisation", "risk", "asset", "score", "owner", "review on")
    for r in due:
        table.add_row(
            orgs.get(r.org_id, "?"),
            str(r.id),
            r.asset,
            f"{risks.score(r)} {risks.level(r)}",
            r.owner,
            r.review_on.isoformat(),
        )
    out.print(table)
    out.print(f"{len(due)} review(s) due")


@assessments_app.command("frameworks")
def frameworks_command() -> None:
    """What the shipped questionnaires hold, and where they come from."""
    cmm, csf = frameworks.cmm(), frameworks.csf()
    out.print(
        f"CMM {cmm.edition}: {len(cmm.dimensions)} dimensions, {len(cmm.factors)} factors, "
        f"{len(cmm.aspects)} aspects, {len(cmm.stages)} stages — {frameworks.CMM_SOURCE}"
    )
    out.print(
        f"NIST CSF {csf.version} ({csf.published}): {len(csf.functions)} functions, "
        f"{sum(len(f.categories) for f in csf.functions)} categories, "
        f"{len(csf.subcategories)} subcategories — {frameworks.CSF_SOURCE}"
    )
