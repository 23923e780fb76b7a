"""`minga backup FILE`, `minga restore FILE [--force]` and `minga check`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from sqlalchemy import Engine
from sqlalchemy.exc import ArgumentError, InterfaceError, OperationalError

from minga.db import make_engine
from minga.errors import MingaError
from minga.ops import backup as backups
from minga.ops import check as checks
from minga.ops import exits
from minga.ops.exits import database_problem, load_settings, stop

out = Console()


def _engine(url: str) -> Engine:
    try:
        return make_engine(url)
    except ArgumentError as exc:
        stop(database_problem(url, exc), exits.USAGE)


def _size(n: int) -> str:
    return f"{n / 1024**2:.1f} MB" if n >= 1024**2 else f"{n / 1024:.0f} kB"


def backup_command(
    file: Annotated[Path, typer.Argument(help="The backup file to write (replaced if it exists).")],
) -> None:
    """Copy the whole node database to FILE while the node runs (SQLite: online backup;
    PostgreSQL: pg_dump custom format)."""
    settings = load_settings()
    engine = _engine(settings.database_url)
    try:
        done = backups.backup(engine, file)
    except backups.ToolMissing as exc:
        stop(exc.message, exits.UNAVAILABLE)
    except backups.ToolFailed as exc:
        stop(exc.message, exits.FAILED)
    except MingaError as exc:
        stop(exc.message, exits.USAGE)
    except (OperationalError, InterfaceError) as exc:
        stop(database_problem(settings.database_url, exc), exits.UNAVAILABLE)
    finally:
        engine.dispose()
    out.print(f"Backed up the {done.backend} database to {done.path} ({_size(done.size)}).")


def restore_command(
    file: Annotated[Path, typer.Argument(help="A file `minga backup` wrote.")],
    force: Annotated[
        bool, typer.Option("--force", help="Replace a database that holds data.")
    ] = False,
) -> None:
    """Replace the node database with a backup, then migrate it to this release's schema.
    Stop the node first. Refuses a database holding organisations or objects unless --force."""
    settings = load_settings()
    engine = _engine(settings.database_url)
    try:
        done = backups.restore(engine, file, force=force)
    except backups.ToolMissing as exc:
        stop(exc.message, exits.UNAVAILABLE)
    except backups.ToolFailed as exc:
        stop(exc.message, exits.FAILED)
    except MingaError as exc:
        stop(exc.message, exits.USAGE)
    except (OperationalError, InterfaceError) as exc:
        stop(database_problem(settings.database_url, exc), exits.UNAVAILABLE)
    finally:
        engine.dispose()
    out.print(
        f"Restored the {done.backend} database from {done.path}; its schema is at"
        f" {checks.head_revision()}."
    )


STYLE = {checks.OK: "green", checks.WARN: "yellow", checks.FAIL: "bold red"}


def check_command() -> None:
    """Check the node: settings, database and schema, clock, keys, disk, files. One line each;
    exit code 1 when any check fails."""
    settings = load_settings()  # bad settings: one sentence, exit 2
    engine = _engine(settings.database_url)
    failed = 0
    try:
        for found in checks.run_checks(settings, engine):
            failed += found.status == checks.FAIL
            out.print(
                f"[{STYLE[found.status]}]{found.status:<4}[/] {found.name:<10} "
                f"{escape(found.detail)}",
                soft_wrap=True,
                highlight=False,
            )
    finally:
        engine.dispose()
    if failed:
        stop(f"{failed} check{'s' if failed > 1 else ''} failed", exits.FAILED)


def add_ops_commands(app: typer.Typer) -> None:
    app.command("backup")(backup_command)
    app.command("restore")(restore_command)
    app.command("check")(check_command)
