"""`minga constituency import FILE | list ORG | add ORG ASSET | remove ORG ID`: what each
organisation answers for, managed from the node's command line (the node operator's place)."""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session

from minga.accounts.models import Organisation
from minga.errors import NotFound
from minga.events import constituency

constituency_app = typer.Typer(
    no_args_is_help=True, help="Constituencies: the ASNs, IP ranges and domains of each member."
)
out = Console()
err = Console(stderr=True)


def _scope() -> AbstractContextManager[Session]:
    from minga.cli import session_scope  # `minga.cli` imports this module

    return session_scope()


def _org(session: Session, ref: str) -> int:
    query = select(Organisation.id).where(Organisation.remote_node.is_(None))
    found = session.scalar(
        query.where(Organisation.id == int(ref))
        if ref.isdigit()
        else query.where(Organisation.name == ref)
    )
    if found is None:
        raise NotFound(f"no organisation {ref!r} on this node")
    return int(found)


@constituency_app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(help="CSV: organisation,asset[,kind] with a header.")],
) -> None:
    """Import constituencies for many organisations at once (all or nothing; errors name
    their line)."""
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        err.print(f"[bold red]error:[/] cannot read {escape(str(file))}: {exc.strerror}")
        raise typer.Exit(2) from None
    except UnicodeDecodeError:
        err.print(f"[bold red]error:[/] {escape(str(file))} is not UTF-8 text")
        raise typer.Exit(2) from None
    with _scope() as session:
        done = constituency.import_csv(session, None, text)
    out.print(f"imported {done.added} assets ({done.already} already known)")


@constituency_app.command("list")
def list_command(org: Annotated[str, typer.Argument(help="Organisation name or number.")]) -> None:
    """The assets an organisation declared."""
    with _scope() as session:
        found = constituency.list_assets(session, None, _org(session, org))
    table = Table("id", "kind", "asset")
    for asset in found:
        table.add_row(str(asset["id"]), asset["kind"], escape(asset["value"]))
    out.print(table)


@constituency_app.command("add")
def add_command(
    org: Annotated[str, typer.Argument(help="Organisation name or number.")],
    asset: Annotated[str, typer.Argument(help="AS64500, 192.0.2.0/24, 2001:db8::/32, example.org")],
) -> None:
    """Declare one asset of an organisation."""
    with _scope() as session:
        found = constituency.add_asset(session, None, _org(session, org), asset)
    out.print(f"added {found['kind']} {escape(found['value'])} (id {found['id']})")


@constituency_app.command("remove")
def remove_command(
    org: Annotated[str, typer.Argument(help="Organisation name or number.")],
    asset_id: Annotated[int, typer.Argument(help="The asset's id (see `list`).")],
) -> None:
    """Remove one asset of an organisation."""
    with _scope() as session:
        constituency.remove_asset(session, None, _org(session, org), asset_id)
    out.print("removed")
