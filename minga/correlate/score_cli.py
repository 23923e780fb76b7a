"""`minga score refresh` (recompute every indicator's score as it ages) and `minga score show
ID...` (the stored scores, for the node operator at the console)."""

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
    from minga.correlate.sighting_views import configure
    from minga.settings import Settings

    configure(Settings())


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
