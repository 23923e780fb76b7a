"""`minga taxii ...`: pull remote collections, manage feeds and this node's collections."""

from __future__ import annotations

import os
from contextlib import AbstractContextManager
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy.exc import ArgumentError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from minga.accounts import service as accounts
from minga.db import make_engine, make_sessionmaker, unit_of_work
from minga.errors import MingaError
from minga.ops import exits
from minga.ops.exits import database_problem, load_settings
from minga.taxii import puller, service
from minga.taxii.client import RemoteError

taxii_app = typer.Typer(no_args_is_help=True, help="TAXII 2.1: pull remote feeds, collections.")
feed_app = typer.Typer(no_args_is_help=True, help="Remote collections pulled on a schedule.")
collection_app = typer.Typer(no_args_is_help=True, help="Collections this node serves.")
taxii_app.add_typer(feed_app, name="feed")
taxii_app.add_typer(collection_app, name="collection")

out = Console()


# `minga.cli` imports this module, so its helpers are imported when a command runs.
def _scope() -> AbstractContextManager[Session]:
    from minga.cli import session_scope

    return session_scope()


def _fail(message: str, code: int) -> typer.Exit:
    from minga.cli import fail

    return fail(message, code)


def _sessions() -> sessionmaker[Session]:
    from minga.migrate import upgrade

    settings = load_settings()
    try:
        engine = make_engine(settings.database_url)
        upgrade(engine)
    except ArgumentError as exc:
        raise _fail(database_problem(settings.database_url, exc), exits.USAGE) from None
    except (OperationalError, InterfaceError) as exc:
        raise _fail(database_problem(settings.database_url, exc), exits.UNAVAILABLE) from None
    return make_sessionmaker(engine)


def _user_id(session: Session, ref: str) -> int:
    user = accounts.get_user(session, int(ref)) if ref.isdigit() else None
    return (user or accounts.find_user(session, ref)).id


def _run_pull(
    feed_id: int,
    *,
    token: str | None,
    limit: int,
    from_start: bool,
    user_id: int | None = None,
    one_off: bool = False,
) -> None:
    """Pull a feed now; `one_off`: the feed was made for this pull and goes if it fails."""
    sessions = _sessions()
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(bar_width=None),
        TextColumn("{task.fields[objects]} objects, {task.fields[pages]} pages"),
        TimeElapsedColumn(),
        console=out,
        transient=False,
    ) as progress:
        task = progress.add_task("pulling", total=None, objects=0, pages=0)

        def on_page(result: puller.PullResult) -> None:
            progress.update(
                task,
                objects=result.received,
                pages=result.pages,
                description=f"pulling (cursor {result.cursor or '-'})",
            )

        try:
            result = puller.pull_feed(
                sessions,
                feed_id,
                token=token,
                limit=limit,
                from_start=from_start,
                on_page=on_page,
                user_id=user_id,
            )
        except (RemoteError, MingaError) as exc:
            if one_off:
                with unit_of_work(sessions) as session:
                    puller.remove_feed(session, str(feed_id))
            if isinstance(exc, RemoteError):
                raise _fail(str(exc), exc.exit_code) from None
            raise _fail(exc.message, exits.USAGE) from None
        except (OperationalError, InterfaceError) as exc:
            raise _fail(
                database_problem(str(sessions.kw["bind"].url), exc), exits.UNAVAILABLE
            ) from None
        progress.update(task, total=1, completed=1, description="done")
    out.print(f"Pulled {result.summary()}. Next pull resumes after {result.cursor or 'the start'}.")
    for refused in result.refused:
        out.print(f"  refused: {refused['id']}: {refused['reason']}", style="yellow")


@taxii_app.command("pull")
def pull(
    url: Annotated[str, typer.Argument(help="API root (or discovery) URL of the remote server")],
    collection: Annotated[str, typer.Option(help="remote collection id, alias or title")],
    user: Annotated[str, typer.Option(help="local account the objects are stored as")],
    token: Annotated[
        str | None, typer.Option(help="remote token (else $MINGA_TAXII_TOKEN)", show_default=False)
    ] = None,
    username: Annotated[str | None, typer.Option(help="use HTTP Basic with this user")] = None,
    limit: Annotated[int, typer.Option(min=1, help="objects per page requested")] = 500,
    from_start: Annotated[bool, typer.Option(help="ignore the saved cursor")] = False,
) -> None:
    """Pull a remote collection now; the cursor is kept, so the next pull only fetches news."""
    token = token or os.environ.get("MINGA_TAXII_TOKEN")
    with _scope() as session:
        user_id = _user_id(session, user)
        feed = puller.find_feed(session, url, collection)
        one_off = feed is None
        if feed is None:
            feed = puller.add_feed(
                session,
                name=f"{url.rstrip('/')} {collection}"[:120],
                url=url,
                collection=collection,
                user_id=user_id,
                username=username,
            )
        feed_id = feed.id
    _run_pull(
        feed_id, token=token, limit=limit, from_start=from_start, user_id=user_id, one_off=one_off
    )


@taxii_app.command("run-due")
def run_due() -> None:
    """Run every scheduled pull that is due now (what `minga serve` does in the background)."""
    outcomes = puller.run_due(_sessions())
    if not outcomes:
        out.print("No scheduled pull is due.")
    for name, outcome in outcomes.items():
        text = outcome.summary() if isinstance(outcome, puller.PullResult) else f"failed: {outcome}"
        out.print(f"{name}: {text}")


@feed_app.command("add")
def feed_add(
    name: str,
    url: Annotated[str, typer.Argument(help="API root (or discovery) URL")],
    collection: Annotated[str, typer.Option(help="remote collection id, alias or title")],
    user: Annotated[str, typer.Option(help="local account the objects are stored as")],
    every: Annotated[int, typer.Option(help="seconds between pulls; 0 = only on demand")] = 3600,
    token_env: Annotated[
        str | None, typer.Option(help="environment variable holding the remote token")
    ] = None,
    username: Annotated[str | None, typer.Option(help="use HTTP Basic with this user")] = None,
    reach: Annotated[str, typer.Option(help="reach of imported objects")] = "community",
) -> None:
    with _scope() as session:
        feed = puller.add_feed(
            session,
            name=name,
            url=url,
            collection=collection,
            user_id=_user_id(session, user),
            token_env=token_env,
            username=username,
            interval_seconds=every,
            reach=reach,
        )
        out.print(f"Feed {feed.id} {feed.name!r} added; pulled every {every} s by `minga serve`.")


@feed_app.command("list")
def feed_list() -> None:
    """Feeds, one row each; long URLs and results wrap inside their column (fits 80 columns)."""
    with _scope() as session:
        table = Table(show_lines=True, expand=False)
        table.add_column("id", justify="right", no_wrap=True)
        table.add_column("feed (URL, collection)", overflow="fold", ratio=3)
        table.add_column("every", no_wrap=True)
        table.add_column("last run", overflow="fold", ratio=2)
        for f in puller.list_feeds(session):
            where = f"{escape(f.name)}\n[dim]{escape(f.api_root_url)}\n{escape(f.collection)}[/]"
            last = f"{f.last_run_at:%Y-%m-%d %H:%M}" if f.last_run_at else "never"
            if f.added_after:
                last += f"\n[dim]cursor {escape(f.added_after)}[/]"
            if f.last_result:
                result = f.last_result if len(f.last_result) <= 160 else f.last_result[:157] + "..."
                last += f"\n{escape(result)}"
            every = f"{f.interval_seconds} s" if f.interval_seconds else "manual"
            table.add_row(str(f.id), where, every, last)
    out.print(table)


@feed_app.command("pull")
def feed_pull(
    feed: Annotated[str, typer.Argument(help="feed id or name")],
    limit: Annotated[int, typer.Option(min=1)] = 500,
    from_start: bool = False,
) -> None:
    """Pull one configured feed now."""
    with _scope() as session:
        feed_id = puller.get_feed(session, feed).id
    _run_pull(feed_id, token=None, limit=limit, from_start=from_start)


@feed_app.command("remove")
def feed_remove(feed: Annotated[str, typer.Argument(help="feed id or name")]) -> None:
    with _scope() as session:
        found = puller.remove_feed(session, feed)
        out.print(f"Feed {found.name!r} removed; objects it imported stay.")


@collection_app.command("create")
def collection_create(
    title: str,
    alias: Annotated[str | None, typer.Option(help="short name usable in URLs")] = None,
    description: str = "",
    type: Annotated[list[str] | None, typer.Option(help="STIX type (repeat)")] = None,
    tlp: Annotated[list[str] | None, typer.Option(help="TLP level (repeat)")] = None,
    owner: Annotated[int | None, typer.Option(help="only this organisation's objects")] = None,
    source: Annotated[list[str] | None, typer.Option(help="only objects from this source")] = None,
    read: Annotated[bool, typer.Option(help="members may read it")] = True,
    write: Annotated[bool, typer.Option(help="members may add objects to it")] = False,
    owned_by: Annotated[
        str | None, typer.Option(help="organisation (id or name) that manages it; default: node")
    ] = None,
) -> None:
    filters: dict[str, object] = {}
    if type:
        filters["types"] = type
    if tlp:
        filters["tlps"] = tlp
    if owner is not None:
        filters["owner_org_id"] = owner
    if source:
        filters["sources"] = source
    with _scope() as session:
        found = service.create_collection(
            session,
            None,
            title=title,
            description=description,
            alias=alias,
            filters=filters,
            can_read=read,
            can_write=write,
        )
        if owned_by:
            from minga.cli import _org_by

            found.owner_org_id = _org_by(session, owned_by).id
        out.print(f"Collection {found.id} {found.title!r} created.")


@collection_app.command("list")
def collection_list() -> None:
    with _scope() as session:
        table = Table("id", "alias", "title", "filters", "read", "write", "owner")
        for c in service.list_collections(session):
            flags = ("yes" if c.can_read else "no", "yes" if c.can_write else "no")
            owner = str(c.owner_org_id) if c.owner_org_id else "node"
            table.add_row(c.id, c.alias or "", c.title, c.filters, *flags, owner)
    out.print(table)


@collection_app.command("remove")
def collection_remove(ref: Annotated[str, typer.Argument(help="id or alias")]) -> None:
    with _scope() as session:
        found = service.delete_collection(session, None, ref)
        out.print(f"Collection {found.title!r} removed; its objects stay in the store.")
