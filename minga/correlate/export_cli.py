"""`minga export FORMAT [filters] > file` and `minga feed-token issue|list|revoke`."""

from __future__ import annotations

import sys
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Annotated, BinaryIO

import typer
from rich.console import Console
from sqlalchemy import select
from sqlalchemy.orm import Session

from minga.accounts import service as accounts
from minga.accounts.models import User
from minga.correlate import feed_tokens
from minga.correlate.export import FORMATS, get_format
from minga.correlate.feed_views import feed_url
from minga.correlate.feeds import parse_filter
from minga.correlate.produce import text_chunks
from minga.errors import MingaError
from minga.policy import Principal
from minga.settings import Settings

out = Console()
err = Console(stderr=True)
feed_token_app = typer.Typer(
    no_args_is_help=True, help="Tokens for feed URLs that firewalls and resolvers poll."
)


def _scope() -> AbstractContextManager[Session]:
    from minga.cli import session_scope  # `minga.cli` imports this module

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


UserOpt = Annotated[
    str | None, typer.Option("--user", help="Export what this user may see (default: admin).")
]


def export_command(
    format: Annotated[str, typer.Argument(help=", ".join(FORMATS))],
    type: Annotated[
        list[str] | None,
        typer.Option("--type", help="ipv4, ipv6, cidr, domain, url, email, md5, sha1, ... "),
    ] = None,
    tlp: Annotated[str | None, typer.Option(help="The highest TLP exported.")] = None,
    min_score: Annotated[int | None, typer.Option(help="The lowest score (0-100).")] = None,
    since: Annotated[str | None, typer.Option(help="Added on or after (date, RFC 3339).")] = None,
    sector: Annotated[list[str] | None, typer.Option(help="Reporter's sector.")] = None,
    country: Annotated[list[str] | None, typer.Option(help="Reporter's country code.")] = None,
    include_expired: Annotated[bool, typer.Option(help="Also past valid_until.")] = False,
    include_warninglisted: Annotated[bool, typer.Option(help="Also warninglisted.")] = False,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here, not to standard output.")
    ] = None,
    user: UserOpt = None,
) -> None:
    """Export the indicators a user may see, for a firewall, IDS, resolver or SIEM."""
    with _scope() as session:
        fmt = get_format(format)
        f = parse_filter(
            types=type or (),
            tlp=tlp,
            min_score=min_score,
            since=since,
            sectors=sector or (),
            countries=country or (),
            include_expired=include_expired,
            include_warninglisted=include_warninglisted,
        )
        principal = _principal(session, user)
        node = Settings().node_name
        target: BinaryIO = output.open("wb") if output else sys.stdout.buffer
        try:
            for text in text_chunks(session, principal, fmt, f, node):
                target.write(text.encode())
            target.flush()
        except BrokenPipeError:  # `minga export txt | head`
            sys.stderr.close()
        finally:
            if output:
                target.close()
        session.rollback()


@feed_token_app.command("issue")
def issue_command(
    user: Annotated[str, typer.Argument(help="The user (or machine account) it reads as.")],
    name: Annotated[str, typer.Option(help="What polls with it (an edge firewall).")] = "",
    format: Annotated[str, typer.Option(help="The format of the URL shown.")] = "txt",
) -> None:
    """Issue a feed token (shown once) and print the feed URL that uses it."""
    with _scope() as session:
        fmt = get_format(format)
        target = accounts.find_user(session, user)
        issued = feed_tokens.issue(session, None, user_id=target.id, name=name)
        url = feed_url(Settings().public_url, fmt, issued.token, {})
    out.print(f"feed token for {user} (shown once): {issued.token}", soft_wrap=True)
    out.print(f"URL: {url}", soft_wrap=True)


@feed_token_app.command("list")
def list_command() -> None:
    """Every feed token of the node: id, name, user, created, last poll, state (one a line)."""
    with _scope() as session:
        rows = feed_tokens.list_feed_tokens(session, None)
        lines = [
            "\t".join(
                (
                    tok.public_id,
                    tok.name or "-",
                    holder.name,
                    tok.created_at.strftime("%Y-%m-%d"),
                    tok.last_used_at.strftime("%Y-%m-%d %H:%M") if tok.last_used_at else "never",
                    "revoked" if tok.revoked_at else "active",
                )
            )
            for tok, holder in rows
        ]
    sys.stdout.write("".join(line + "\n" for line in lines) or "no feed tokens\n")


@feed_token_app.command("revoke")
def revoke_command(public_id: Annotated[str, typer.Argument(help="The token's id.")]) -> None:
    """Revoke a feed token: its pollers are refused from the next poll on."""
    with _scope() as session:
        feed_tokens.revoke(session, None, public_id)
    out.print(f"feed token {public_id} revoked")
