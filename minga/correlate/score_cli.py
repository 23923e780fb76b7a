"""`minga score refresh` (recompute every indicator's score as it ages), `minga score show
ID...` (the stored scores) and `minga score confidence ORG [N | --clear]` (how far this node
trusts an organisation's indicators that state no confidence)."""

from __future__ import annotations

import time
from contextlib import AbstractContextManager
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session

from minga.correlate import scores
from minga.intel.stix import us_to_ts

score_app = typer.Typer(no_args_is_help=True, help="Indicator scores (sightings, decay).")
out = Console()
err = Console(stderr=True)


# `minga.cli` imports this module, so its helpers are imported when a command runs.
def _scope() -> AbstractContextManager[Session]:
    from minga.cli import session_scope

    return session_scope()


def _configure() -> None:
    from minga.settings import Settings

    scores.configure_from(Settings())


@score_app.command("refresh")
def refresh_command() -> None:
    """Recompute every indicator's score and valid_until now (`minga serve` does it every
    MINGA_SCORE_REFRESH_SECONDS)."""
    _configure()
    started = time.perf_counter()
    with _scope() as session:
        stored = scores.refresh(session)
    out.print(f"{stored} indicator scores recomputed in {time.perf_counter() - started:.1f} s")


@score_app.command("show")
def show_command(
    ids: Annotated[list[str], typer.Argument(help="indicator ids")],
) -> None:
    """The stored score of each indicator (exit code 1 if one has none)."""
    with _scope() as session:
        found = scores.score_of(session, ids)
    table = Table("indicator", "score", "base", "model", "sightings", "false pos.", "valid until")
    for sid in ids:
        s = found.get(sid)
        if s is None:
            table.add_row(sid, "-", "", "", "", "", "")
            continue
        table.add_row(
            sid, str(s.score), f"{s.base:.1f}", s.model, str(s.sightings),
            str(s.false_positives), us_to_ts(s.valid_until_us),
        )  # fmt: skip
    out.print(table)
    missing = [sid for sid in ids if sid not in found]
    if missing:
        err.print(f"[bold red]error:[/] no score for {', '.join(missing)} (not an indicator here)")
        raise typer.Exit(1)


@score_app.command("confidence")
def confidence_command(
    org: Annotated[str, typer.Argument(help="organisation id or exact name")],
    confidence: Annotated[
        int | None, typer.Argument(min=0, max=100, help="0 to 100; left out: show it")
    ] = None,
    clear: Annotated[bool, typer.Option("--clear", help="use the node default again")] = False,
) -> None:
    """The default confidence of ORG's indicators that state no STIX `confidence` (else
    MINGA_SCORE_DEFAULT_CONFIDENCE); changing it recomputes every score."""
    from minga.cli import _org_by

    _configure()
    with _scope() as session:
        found = _org_by(session, org)
        if clear or confidence is not None:
            scores.set_org_default(session, found.id, None if clear else confidence)
            scores.refresh(session)
        current = scores.org_defaults(session).get(found.id)
    if current is None:
        out.print(f"{found.name}: the node default ({scores.params().default_confidence})")
    else:
        out.print(f"{found.name}: {current}")
