"""`minga knowledge update [attack|kev|misp-taxonomies|all] [--from FILE|DIR|URL]` and
`minga knowledge status`: the node's reference knowledge."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy.orm import Session

from minga.knowledge import service

knowledge_app = typer.Typer(
    no_args_is_help=True, help="Reference knowledge: MITRE ATT&CK, CISA KEV, MISP taxonomies."
)
out = Console()
err = Console(stderr=True)
SHOWN_REFUSED = 20


# `minga.cli` imports this module, so its helpers are imported when a command runs.
def _scope() -> AbstractContextManager[Session]:
    from minga.cli import session_scope

    return session_scope()


@knowledge_app.command("update")
def update_command(
    what: Annotated[str, typer.Argument(help="attack | kev | misp-taxonomies | all")] = "all",
    from_: Annotated[
        str | None,
        typer.Option("--from", help="A file, a directory (searched for *.json) or a URL."),
    ] = None,
) -> None:
    """Load reference data as the node's own (TLP:CLEAR): from --from, else from where it was
    loaded last, else from the official URL. A new release adds new versions of what changed;
    nothing is revoked or deleted because a release left it out."""
    if what not in service.SOURCES:
        err.print(
            f"[bold red]error:[/] unknown knowledge {what!r}: use {', '.join(service.SOURCES)}"
        )
        raise typer.Exit(2)
    with _scope() as session:
        done = service.update(session, what, from_)
    table = Table("source", "release", "objects", "new", "already stored", "entries", "refused")
    refused: list[str] = []
    for each in done:
        table.add_row(
            each.source, each.release, str(each.objects), str(each.created), str(each.existing),
            str(each.entries), str(each.refused_count),
        )  # fmt: skip
        refused.extend(f"{r['id']}: {r['reason']}" for r in each.refused)
    out.print(table)
    for line in refused[:SHOWN_REFUSED]:
        err.print(f"[bold yellow]refused:[/] {escape(line)}", soft_wrap=True)
    if len(refused) > SHOWN_REFUSED:
        err.print(f"[bold yellow]refused:[/] {len(refused) - SHOWN_REFUSED} more")


@knowledge_app.command("status")
def status_command() -> None:
    """The release of each source loaded, where from and when."""
    with _scope() as session:
        rows = [
            (r.source, r.release, r.loaded_at.isoformat(timespec="seconds"), str(r.entries),
             r.location)
            for r in service.releases(session)
        ]  # fmt: skip
    if not rows:
        out.print("No reference knowledge loaded yet: run `minga knowledge update`.")
        return
    for source, release, loaded, entries, location in rows:
        out.print(
            f"{source}: {escape(release)} ({entries} entries, loaded {loaded} from "
            f"{escape(location)})",
            soft_wrap=True,
        )
