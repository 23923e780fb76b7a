"""`minga lookup VALUE...` (or values on stdin), `minga correlate reindex|exclude|include|
exclusions` and `minga warninglist import|list|remove|enable|disable`."""

from __future__ import annotations

import sys
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session

from minga.accounts import service as accounts
from minga.accounts.models import User
from minga.correlate import exclusions, lookup, store, warninglists
from minga.errors import InvalidInput, MingaError
from minga.policy import Principal

correlate_app = typer.Typer(
    no_args_is_help=True, help="The observable index and correlation exclusions."
)
warninglist_app = typer.Typer(
    no_args_is_help=True, help="Warninglists (MISP format): known-benign values flagged."
)
out = Console()
err = Console(stderr=True)


# `minga.cli` imports this module, so its helpers are imported when a command runs.
def _scope() -> AbstractContextManager[Session]:
    from minga.cli import session_scope

    return session_scope()


def _principal(session: Session, name: str | None) -> Principal:
    user: User | None
    if name:
        user = accounts.find_user(session, name)
    else:
        user = session.scalar(select(User).where(User.role == "admin").order_by(User.id))
        if user is None:
            raise MingaError("no admin user: run `minga init` or give --user NAME")
    return accounts.principal_for(session, user)


def _limit() -> int:
    from minga.settings import Settings

    return Settings().correlation_limit


def lookup_command(
    values: Annotated[
        list[str] | None, typer.Argument(help="Values to look up; none or '-': read stdin.")
    ] = None,
    user: Annotated[
        str | None, typer.Option("--user", help="Look up as this user (default: admin).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table.")] = False,
) -> None:
    """What the node holds about addresses, networks, domains, URLs, e-mails and hashes that
    you may see: equal values, networks and domains holding them, values inside them; how many
    organisations and countries reported them and when; warninglists they are on."""
    texts = list(values or [])
    if not texts or texts == ["-"]:
        texts = sys.stdin.read().splitlines()
    with _scope() as session:
        try:
            found = lookup.lookup(session, _principal(session, user), texts, limit=_limit())
        except InvalidInput as exc:
            err.print(f"[bold red]error:[/] {escape(exc.message)}")
            raise typer.Exit(2) from None
    if as_json:
        sys.stdout.write(orjson.dumps({"values": [c.as_dict() for c in found]}).decode() + "\n")
        return
    screen = Console()  # made now: the terminal's width (COLUMNS) as it is when run
    if not found:
        screen.print("No values given.")
        return
    table = Table("value", "kind", "objects", "orgs", "countries", "first", "last", "notes")
    for c in found:
        notes = []
        if c.excluded:
            notes.append("excluded from correlation")
        if c.common:
            notes.append("common: not listed")
        if c.warninglists:
            notes.append("warninglist: " + ", ".join(c.warninglists))
        if c.reported_by:
            notes.append("reported by " + ", ".join(c.reported_by))
        table.add_row(
            escape(c.value), c.kind, str(c.objects), str(c.organisations), str(c.countries),
            (c.first_reported or "")[:10], (c.last_reported or "")[:10], escape("; ".join(notes)),
        )  # fmt: skip
    screen.print(table)
    matches = [(c, m) for c in found for m in c.matches]
    if matches:
        detail = Table("value", "relation", "object", "name", "organisation", "TLP", "created")
        for c, m in matches:
            detail.add_row(
                escape(c.value), m.relation, m.stix_id, escape(m.name),
                escape(f"{m.organisation} ({m.country})"), m.tlp, m.created[:10],
            )  # fmt: skip
        screen.print(detail)


@correlate_app.command("reindex")
def reindex_command() -> None:
    """Re-build the observable index from every stored object."""
    with _scope() as session:
        rows = store.reindex(session.connection())
    out.print(f"Indexed {rows} values.")


@correlate_app.command("exclude")
def exclude_command(
    value: Annotated[str, typer.Argument(help="The value never to correlate.")],
    reason: Annotated[str, typer.Option(help="Why (shown to analysts).")] = "",
) -> None:
    """Never correlate a value (a sinkhole, a shared host)."""
    with _scope() as session:
        found = exclusions.add_exclusion(session, None, value, reason)
    out.print(f"Excluded {found.kind} {escape(found.value)} from correlation.")


@correlate_app.command("include")
def include_command(
    value: Annotated[str, typer.Argument(help="An excluded value, or its id.")],
) -> None:
    """Correlate an excluded value again."""
    with _scope() as session:
        found = exclusions.remove_exclusion(session, None, value)
    out.print(f"{escape(found.value)} is correlated again.")


@correlate_app.command("exclusions")
def exclusions_command() -> None:
    """The values excluded from correlation."""
    with _scope() as session:
        found = exclusions.list_exclusions(session)
    if not found:
        out.print("No value is excluded from correlation.")
        return
    table = Table("id", "kind", "value", "reason", "by", "since")
    for e in found:
        table.add_row(
            str(e.id), e.kind, escape(e.value), escape(e.reason), escape(e.created_by),
            e.created_at.isoformat(timespec="seconds"),
        )  # fmt: skip
    out.print(table)


@warninglist_app.command("import")
def import_command(
    file: Annotated[
        Path, typer.Argument(help="A MISP warninglist (list.json), or a directory of them.")
    ],
) -> None:
    """Import warninglists in MISP's JSON format (a list of the same name is replaced); a
    directory (a misp-warninglists checkout) is searched for list.json files."""
    paths = sorted(file.rglob("list.json")) if file.is_dir() else [file]
    if not paths:
        err.print(f"[bold red]error:[/] no list.json under {escape(str(file))}")
        raise typer.Exit(2)
    with _scope() as session:
        for path in paths:
            try:
                data = path.read_bytes()
            except OSError as exc:
                err.print(f"[bold red]error:[/] cannot read {escape(str(path))}: {exc.strerror}")
                raise typer.Exit(2) from None
            try:
                found = warninglists.import_list(session, None, data)
            except InvalidInput as exc:
                if len(paths) == 1:
                    raise
                err.print(f"[yellow]skipped[/] {escape(str(path))}: {escape(exc.message)}")
                continue
            out.print(f"Imported {escape(found.name)}: {found.entries} {found.list_type} entries.")


@warninglist_app.command("list")
def list_command() -> None:
    """The imported warninglists (the built-in benign values always apply)."""
    with _scope() as session:
        found = warninglists.list_lists(session)
    table = Table("id", "name", "type", "entries", "version", "enabled", "imported")
    for w in found:
        table.add_row(
            str(w.id), escape(w.name), w.list_type, str(w.entries), str(w.version),
            "yes" if w.enabled else "no", w.imported_at.isoformat(timespec="seconds"),
        )  # fmt: skip
    out.print(table)
    out.print(f"Always applied: {warninglists.BUILT_IN} (the extractor's benign lists).")


@warninglist_app.command("remove")
def remove_command(ref: Annotated[str, typer.Argument(help="Id or name.")]) -> None:
    """Remove an imported warninglist."""
    with _scope() as session:
        found = warninglists.remove_list(session, None, ref)
    out.print(f"Removed {escape(found.name)}.")


@warninglist_app.command("enable")
def enable_command(ref: Annotated[str, typer.Argument(help="Id or name.")]) -> None:
    """Apply an imported warninglist again."""
    with _scope() as session:
        found = warninglists.set_enabled(session, None, ref, True)
    out.print(f"{escape(found.name)} is applied.")


@warninglist_app.command("disable")
def disable_command(ref: Annotated[str, typer.Argument(help="Id or name.")]) -> None:
    """Keep an imported warninglist but stop applying it."""
    with _scope() as session:
        found = warninglists.set_enabled(session, None, ref, False)
    out.print(f"{escape(found.name)} is no longer applied.")
