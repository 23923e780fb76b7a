"""`minga advisory list|draft|publish|withdraw`: public advisories from the node's command line.

Publishing and withdrawing are done as a named person (`--as`), whose authority the policy
checks as on the web and the API, and whose name the audit log keeps."""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Column, Table
from sqlalchemy.orm import Session

from minga.accounts import service as accounts
from minga.advisories import service
from minga.errors import InvalidInput
from minga.policy import Principal

advisory_app = typer.Typer(
    no_args_is_help=True, help="Public advisories: list, draft, publish, withdraw."
)
out = Console()
AsUser = Annotated[
    str, typer.Option("--as", help="The user acting (a coordinator to publish or withdraw).")
]


def _scope() -> AbstractContextManager[Session]:
    from minga.cli import session_scope

    return session_scope()


def _principal(session: Session, name: str) -> Principal:
    return accounts.principal_for(session, accounts.find_user(session, name))


@advisory_app.command("list")
def list_command(
    status: Annotated[
        str | None, typer.Option(help="draft, published or withdrawn (default: all)")
    ] = None,
) -> None:
    """Every advisory of the node, newest first (drafts of every organisation included)."""
    from sqlalchemy import func, select

    from minga.accounts.models import Organisation
    from minga.advisories.models import Advisory

    with _scope() as session:
        stmt = select(Advisory, Organisation.name).join(
            Organisation, Organisation.id == Advisory.owner_org_id
        )
        if status is not None:
            if status not in ("draft", "published", "withdrawn"):
                raise InvalidInput("--status must be draft, published or withdrawn")
            stmt = stmt.where(Advisory.status == status)
        order = func.coalesce(Advisory.published_at, Advisory.created_at)
        rows = [
            (a.tracking_id, a.status, a.severity, str(a.revision), org,
             next(iter(service.loads(a)["texts"].values()))["title"])
            for a, org in session.execute(stmt.order_by(order.desc(), Advisory.id.desc()))
        ]  # fmt: skip
    if not rows:
        out.print("No advisories.")
        return
    table = Table(
        Column("id", no_wrap=True), "status", "severity", "revision", "organisation", "title"
    )
    for row in rows:
        table.add_row(*(escape(v) for v in row))
    out.print(table)


@advisory_app.command("draft")
def draft_command(
    file: Annotated[Path, typer.Argument(help="JSON: texts, category, severity, sectors, ...")],
    as_user: AsUser,
) -> None:
    """Draft an advisory from a JSON file (the body of POST /api/advisories)."""
    from minga.cli import fail
    from minga.settings import Settings

    try:
        fields = orjson.loads(file.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise fail(f"cannot read {file}: {exc}", 2) from None
    if not isinstance(fields, dict):
        raise fail(f"{file} must hold one JSON object", 2)
    with _scope() as session:
        advisory = service.draft(
            session,
            _principal(session, as_user),
            fields,
            prefix=Settings().tracking_prefix,
        )
        tracking_id = advisory.tracking_id
    out.print(f"Drafted {tracking_id}.")


@advisory_app.command("publish")
def publish_command(
    tracking_id: Annotated[str, typer.Argument(help="e.g. CSIRT-CR-2026-0007")],
    as_user: AsUser,
    summary: Annotated[str, typer.Option(help="Note for the revision history.")] = "",
) -> None:
    """Publish a draft on the public site, its feeds and (vulnerabilities) as CSAF."""
    with _scope() as session:
        advisory = service.publish(
            session, _principal(session, as_user), tracking_id, summary=summary
        )
        revision = advisory.revision
    out.print(f"Published {tracking_id} (revision {revision}).")


@advisory_app.command("withdraw")
def withdraw_command(
    tracking_id: Annotated[str, typer.Argument(help="e.g. CSIRT-CR-2026-0007")],
    as_user: AsUser,
    reason: Annotated[str, typer.Option(help="Why; shown on the public page.")],
) -> None:
    """Withdraw a published advisory: it stays public, marked withdrawn with the reason, and
    leaves the RSS and Atom feeds."""
    with _scope() as session:
        service.withdraw(session, _principal(session, as_user), tracking_id, reason=reason)
    out.print(f"Withdrew {tracking_id}.")
