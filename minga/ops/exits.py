"""The one table of exit codes every `minga` command keeps (README, "Exit codes"), and the
helpers that turn a bad setting or an unusable database into one sentence with its code."""

from __future__ import annotations

import socket
from typing import NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from minga.settings import Settings

OK = 0  # done
FAILED = 1  # the command ran, but part of the work failed (partial import, a check failed)
USAGE = 2  # bad usage or bad input: an unknown option, a wrong value, a bad MINGA_* setting
UNAVAILABLE = 3  # something the command needs is unavailable: the database, the port, a server
REMOTE = 4  # a remote server refused (credentials) or answered something it should not
INTERRUPTED = 130  # Ctrl-C

TABLE = {
    OK: "done",
    FAILED: "partly failed: some items were not imported, or a check found a problem",
    USAGE: "bad usage or input (options, values, MINGA_* settings); nothing was changed",
    UNAVAILABLE: "a service the command needs is unavailable: the database, the port to serve"
    " on, a remote server that cannot be reached",
    REMOTE: "a remote server refused the credentials or misbehaved",
    INTERRUPTED: "interrupted (Ctrl-C)",
}

err = Console(stderr=True)


def stop(message: str, code: int) -> NoReturn:
    """One sentence on stderr, then the exit code."""
    err.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True, highlight=False)
    raise typer.Exit(code)


def settings_problem(exc: ValidationError) -> str:
    """A pydantic ValidationError as one sentence naming each bad variable."""
    parts = []
    for e in exc.errors():
        field = "_".join(str(p) for p in e.get("loc", ())).upper()
        message = str(e.get("msg", "")).removeprefix("Value error, ")
        value = e.get("input")
        shown = f" (got {value!r})" if isinstance(value, str | int | float) else ""
        name = f"MINGA_{field}"
        if field and not message.startswith(name):
            message = f"{name}: {message}"
        parts.append(message + shown)
    return "bad setting: " + "; ".join(parts)


def load_settings() -> Settings:
    """The node's settings, or exit 2 with a sentence (never pydantic's dump)."""
    try:
        return Settings()
    except ValidationError as exc:
        stop(settings_problem(exc), USAGE)


def port_taken(host: str, port: int) -> str | None:
    """Why `host:port` cannot be served on, or None when it is free."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        return f"cannot serve on {host}:{port}: {exc.strerror or exc}"
    family, _, _, _, address = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            return (
                f"cannot serve on {host}:{port}: {exc.strerror or exc} (is another node running?)"
            )
    return None


def database_problem(url: str, exc: BaseException) -> str:
    """'cannot use the database URL: reason' (password hidden, the driver's first line)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        shown = make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        shown = url
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return f"cannot use the database {shown}: {reason[0] if reason else type(exc).__name__}"
