"""`minga check`: is this node fit to serve? One line per check, a problem makes it fail.

Each check answers (status, name, detail): `ok`, `warn` (works, but look at it) or `fail`.
"""

from __future__ import annotations

import shutil
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text

from minga.migrate import alembic_config
from minga.settings import Settings

OK, WARN, FAIL = "ok", "warn", "fail"
FREE_FAIL_BYTES = 1024**3  # under 1 GiB free, a node stops taking uploads soon
FREE_WARN_SHARE = 0.10
SKEW_WARN_SECONDS = 2.0
SKEW_FAIL_SECONDS = 30.0  # one TOTP step: sign-in codes and federation timestamps go wrong


@dataclass(frozen=True, slots=True)
class Finding:
    status: str
    name: str
    detail: str


def head_revision() -> str:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return str(script.get_current_head())


def database_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def run_checks(settings: Settings, engine: Engine) -> Iterator[Finding]:
    """Every check, in order; later checks that need the database are skipped without it."""
    yield from _settings(settings)
    reached = _database(settings, engine)
    yield reached
    if reached.status == OK:
        for check in (_schema, _clock, _keys, _members):
            yield _guarded(check.__name__.strip("_"), lambda c=check: c(engine))  # type: ignore[misc]
    yield _disk(settings)
    yield from _files(settings)


def _guarded(name: str, check: Callable[[], Finding]) -> Finding:
    try:
        return check()
    except Exception as exc:  # a check that breaks is a failed check, said in one line
        return Finding(FAIL, name, f"{type(exc).__name__}: {str(exc).splitlines()[0]}")


def _settings(settings: Settings) -> Iterator[Finding]:
    yield Finding(
        OK, "settings", f"MINGA_* read; node {settings.node_name!r} at {settings.public_url}"
    )
    if not settings.secret_key and not settings.is_sqlite:
        yield Finding(
            WARN, "secret key", "MINGA_SECRET_KEY is empty: web sessions end when the node restarts"
        )


def _database(settings: Settings, engine: Engine) -> Finding:
    shown = engine.url.render_as_string(hide_password=True)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        return Finding(FAIL, "database", f"cannot reach {shown}: {reason[0] if reason else exc}")
    return Finding(OK, "database", f"reachable: {shown}")


def _schema(engine: Engine) -> Finding:
    have, head = database_revision(engine), head_revision()
    if have == head:
        return Finding(OK, "schema", f"at revision {head} (this release's newest)")
    if have is None:
        return Finding(FAIL, "schema", "empty database: run `minga init`")
    return Finding(
        FAIL,
        "schema",
        f"at revision {have}, this release needs {head}: back up (`minga backup FILE`), then"
        " `minga serve` (or `minga init`) migrates it",
    )


def _clock(engine: Engine) -> Finding:
    if engine.dialect.name == "sqlite":
        return Finding(OK, "clock", "SQLite runs in this process: no database clock to differ")
    with engine.connect() as conn:
        before = datetime.now(UTC)
        theirs = conn.execute(text("SELECT now()")).scalar_one()
        after = datetime.now(UTC)
    ours = before + (after - before) / 2
    skew = (theirs - ours).total_seconds()
    said = f"{abs(skew):.1f} s {'ahead of' if skew > 0 else 'behind'} the database server's clock"
    said = f"this machine's clock is {said}"
    if abs(skew) >= SKEW_FAIL_SECONDS:
        return Finding(FAIL, "clock", said + ": set up NTP on both")
    if abs(skew) >= SKEW_WARN_SECONDS:
        return Finding(WARN, "clock", said)
    return Finding(OK, "clock", said)


def _keys(engine: Engine) -> Finding:
    from minga.accounts.node import TOKEN_KEY
    from minga.federation.keys import SEED_KEY

    with engine.connect() as conn:
        found = set(
            conn.execute(
                text("SELECT key FROM node_settings WHERE key IN (:a, :b)"),
                {"a": SEED_KEY, "b": TOKEN_KEY},
            ).scalars()
        )
    if SEED_KEY not in found:
        return Finding(FAIL, "node key", "no Ed25519 node key: run `minga init`")
    if TOKEN_KEY not in found:
        return Finding(WARN, "node key", "node key present; the token key is made at first serve")
    return Finding(OK, "node key", "Ed25519 node key and token key present")


def _members(engine: Engine) -> Finding:
    """Local organisations whose country is not an ISO 3166-1 country or whose sector is not
    in the vocabulary (made before these were checked): statistics would count them apart."""
    from minga.accounts.places import SECTORS, is_country

    columns = {c["name"] for c in inspect(engine).get_columns("organisations")}
    local = " WHERE remote_node IS NULL" if "remote_node" in columns else ""  # older schemas
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT name, country, sector FROM organisations" + local)).all()
    odd = [
        f"{name} ({country}, {sector})"
        for name, country, sector in rows
        if not is_country(country) or sector not in SECTORS
    ]
    if odd:
        shown = ", ".join(odd[:5]) + (f" and {len(odd) - 5} more" if len(odd) > 5 else "")
        return Finding(WARN, "members", f"country or sector to correct: {shown}")
    return Finding(OK, "members", f"{len(rows)} organisations with ISO countries and known sectors")


def _disk(settings: Settings) -> Finding:
    where = settings.sqlite_path()
    place = (where.parent if where else Path.cwd()).resolve()
    while not place.exists():
        place = place.parent
    usage = shutil.disk_usage(place)
    gib = usage.free / 1024**3
    said = f"{gib:.1f} GiB free of {usage.total / 1024**3:.0f} GiB at {place}"
    if usage.free < FREE_FAIL_BYTES:
        return Finding(FAIL, "disk", said)
    if usage.free < usage.total * FREE_WARN_SHARE:
        return Finding(WARN, "disk", said + " (under 10%)")
    return Finding(OK, "disk", said)


def _files(settings: Settings) -> Iterator[Finding]:
    """Key and certificate files the settings name, and the web key file beside SQLite."""
    cert, key = settings.tls_cert_file, settings.tls_key_file
    if cert and key:
        try:
            ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(cert, key)
        except (OSError, ssl.SSLError) as exc:
            yield Finding(FAIL, "tls", f"cannot load {cert} with {key}: {exc.strerror or exc}")
        else:
            yield Finding(OK, "tls", f"certificate {cert} and key {key} load")
    database = settings.sqlite_path()
    if database is not None and not settings.secret_key:
        web_key = database.with_name(database.name + ".web-key")
        if web_key.exists():
            try:
                web_key.read_bytes()
            except OSError as exc:
                yield Finding(FAIL, "web key", f"cannot read {web_key}: {exc.strerror}")
                return
            yield Finding(OK, "web key", f"{web_key} readable")
