"""`minga backup FILE` and `minga restore FILE`: the whole node database in one file.

SQLite: the online backup API (a consistent copy while the node serves). PostgreSQL:
`pg_dump --format=custom` and `pg_restore` (the PostgreSQL client programs must be installed).
A restore replaces the database, so it refuses one that holds organisations or objects unless
forced, and it migrates the restored schema to this release's head.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, inspect, text
from sqlalchemy.engine import URL, make_url

from minga.errors import InvalidInput, MingaError
from minga.migrate import upgrade

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_MAGIC = b"PGDMP"
HELD = ("organisations", "stix_objects")  # a database with rows here is not empty


class ToolMissing(MingaError):
    """A PostgreSQL client program is not installed."""


class ToolFailed(MingaError):
    """pg_dump or pg_restore ended with an error (its first line is the message)."""


@dataclass(frozen=True, slots=True)
class Done:
    path: Path
    size: int
    backend: str


def backend_of(url: str) -> str:
    return "sqlite" if url.startswith("sqlite") else "postgresql"


def sqlite_file(url: str) -> Path:
    raw = url.split("///", 1)[1] if "///" in url else ""
    if not raw or raw == ":memory:":
        raise InvalidInput("an in-memory SQLite database cannot be backed up or restored")
    return Path(raw)


def backup(engine: Engine, target: Path) -> Done:
    """Write the database to `target` (replaced if it exists)."""
    url = engine.url.render_as_string(hide_password=False)
    target = target.expanduser()
    if target.is_dir():
        raise InvalidInput(f"{target} is a directory: name the backup file")
    if not target.parent.is_dir():
        raise InvalidInput(f"the directory {target.parent} does not exist")
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    with engine.connect():  # an unreachable database is said before any program runs
        pass
    if backend_of(url) == "sqlite":
        source = sqlite3.connect(sqlite_file(url), timeout=30)
        try:
            copy = sqlite3.connect(partial)
            with copy:
                source.backup(copy, pages=4096)
            copy.close()
        finally:
            source.close()
    else:
        _run(["pg_dump", "--format=custom", "--no-owner", "--file", str(partial)], engine.url)
    partial.replace(target)
    return Done(target, target.stat().st_size, backend_of(url))


def holds_data(engine: Engine) -> bool:
    """Whether the database holds organisations or objects (a restore would lose them)."""
    names = set(inspect(engine).get_table_names())
    with engine.connect() as conn:
        for table in HELD:
            if table in names and conn.execute(text(f"SELECT 1 FROM {table} LIMIT 1")).first():
                return True
    return False


def restore(engine: Engine, source: Path, *, force: bool = False) -> Done:
    """Replace the database with the backup in `source`, then migrate it to head."""
    url = engine.url.render_as_string(hide_password=False)
    source = source.expanduser()
    if not source.is_file():
        raise InvalidInput(f"no backup file {source}")
    with source.open("rb") as f:
        head = f.read(len(SQLITE_MAGIC))
    kind = (
        "sqlite"
        if head.startswith(SQLITE_MAGIC)
        else "postgresql"
        if head.startswith(PG_MAGIC)
        else None
    )
    if kind is None:
        raise InvalidInput(f"{source} is neither a SQLite database nor a pg_dump custom archive")
    if kind != backend_of(url):
        raise InvalidInput(
            f"{source} is a {kind} backup and the node's database is {backend_of(url)}:"
            " restore it into a database of the same kind"
        )
    if not force and holds_data(engine):
        raise InvalidInput(
            "the database already holds organisations or objects; restoring replaces them"
            " all: stop the node, then run again with --force"
        )
    engine.dispose()
    if kind == "sqlite":
        _restore_sqlite(source, sqlite_file(url))
    else:
        with engine.begin() as conn:  # pg_restore cannot drop what the dump does not name
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        _run(["pg_restore", "--no-owner", "--exit-on-error", "--dbname", "{db}", str(source)],
             engine.url)  # fmt: skip
    engine.dispose()
    upgrade(engine)  # a backup of an older release is brought to this release's schema
    return Done(source, source.stat().st_size, kind)


def _restore_sqlite(source: Path, target: Path) -> None:
    check = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        tables = {r[0] for r in check.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "alembic_version" not in tables:
            raise InvalidInput(f"{source} is a SQLite database but not a Minga backup")
        into = sqlite3.connect(target, timeout=30)
        try:
            with into:
                check.backup(into)
        finally:
            into.close()
    finally:
        check.close()


def _run(command: list[str], url: URL) -> None:
    """Run a PostgreSQL client program against `url` (the password through the environment,
    never on the command line)."""
    if shutil.which(command[0]) is None:
        raise ToolMissing(
            f"{command[0]} is not installed: install the PostgreSQL client programs"
            " (Debian: apt-get install postgresql-client) of the server's major version or newer"
        )
    url = make_url(url.render_as_string(hide_password=False))
    env = {**os.environ, "PGDATABASE": url.database or ""}
    for name, value in (("PGHOST", url.host), ("PGPORT", url.port), ("PGUSER", url.username),
                        ("PGPASSWORD", url.password)):  # fmt: skip
        if value is not None:
            env[name] = str(value)
    args = [(url.database or "") if a == "{db}" else a for a in command]
    if command[0] == "pg_dump":
        args.append(url.database or "")
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        raise ToolFailed(f"{command[0]} failed: {lines[0] if lines else done.returncode}")
