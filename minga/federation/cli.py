"""`minga node show` and `minga peer add|list|status|remove`: this node's identity and its peers."""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session

from minga.federation import peers, status
from minga.federation.identity import fetch_identity
from minga.federation.keys import display_fingerprint, node_identity
from minga.federation.models import DIRECTIONS
from minga.settings import Settings

node_app = typer.Typer(no_args_is_help=True, help="This node's federation identity.")
peer_app = typer.Typer(no_args_is_help=True, help="Federation peers (other Minga/TAXII nodes).")

out = Console()


# `minga.cli` imports this module, so its helpers are imported when a command runs.
def _scope() -> AbstractContextManager[Session]:
    from minga.cli import session_scope

    return session_scope()


def _settings() -> Settings:
    from minga.ops.exits import load_settings

    return load_settings()


def _when(value: datetime | None) -> str:
    return f"{value:%Y-%m-%d %H:%M:%S} UTC" if value else "never"


@node_app.command("show")
def node_show() -> None:
    """Name, URL, key fingerprint (read it out by phone to the peer's operator), public key."""
    settings = _settings()
    with _scope() as session:
        node = node_identity(session, name=settings.node_name, url=settings.public_url)
    for label, value in [
        ("Node", f"[bold]{node.name}[/]"),
        ("URL", node.url),
        ("Fingerprint", f"[bold]{display_fingerprint(node.fingerprint)}[/]"),
        ("Public key", node.public_key_b64),
    ]:
        out.print(f"{label + ':':<13}{value}", highlight=False, soft_wrap=True)


@peer_app.command("add")
def peer_add(
    name: Annotated[str, typer.Argument(help="The peer's node name (its MINGA_NODE_NAME).")],
    url: Annotated[str, typer.Argument(help="The peer's URL, e.g. https://minga.csirt.gt")],
    fingerprint: Annotated[
        str, typer.Option(help="The peer's key fingerprint, as its operator read it to you.")
    ],
    token_env: Annotated[
        str, typer.Option(help="Environment variable holding the token the peer gave you.")
    ],
    direction: Annotated[str, typer.Option(help=" | ".join(DIRECTIONS))] = "both",
    country: Annotated[str | None, typer.Option(help="ISO code, if the peer says none")] = None,
    sector: Annotated[str | None, typer.Option(help="Sector, if the peer says none")] = None,
) -> None:
    """Add a peer: pin its key and print the token it must use here (shown once)."""
    with _scope() as session:
        added = peers.add_peer(
            session,
            None,
            name=name,
            url=url,
            fingerprint_text=fingerprint,
            direction=direction,
            token_env=token_env,
            country=country,
            sector=sector,
            fetch=fetch_identity,
        )
    if added.pinned:
        out.print(f"Peer [bold]{name}[/] added; its key is pinned.", highlight=False)
    else:
        out.print(
            f"Peer [bold]{name}[/] added, but {url} did not serve its identity: its key is"
            " pinned (checked against the fingerprint) at first contact.",
            highlight=False,
        )
    out.print(
        f"Token for the machine account {added.machine_account} (shown once). Give it to"
        f" {name}'s operator, to put in the variable their `minga peer add` names:",
        highlight=False,
    )
    out.print(added.token.token, style="bold green", soft_wrap=True)


@peer_app.command("list")
def peer_list() -> None:
    with _scope() as session:
        found = peers.list_peers(session)
        table = Table("name", "url", "direction", "fingerprint", "key", "last contact", "error")
        for p in found:
            table.add_row(
                p.name,
                p.url,
                p.direction,
                p.fingerprint[:16] + "…",
                "pinned" if p.public_key else "not yet seen",
                _when(p.last_contact_at),
                p.last_error or "",
            )
    if not found:
        out.print("No peers yet: `minga peer add NAME URL --fingerprint FP --token-env VAR`.")
        return
    out.print(table)


@peer_app.command("status")
def peer_status(name: Annotated[str | None, typer.Argument(help="One peer (default all)")] = None):
    """Last contact, cursors, backlog (versions push still owes the peer), errors, counters."""
    with _scope() as session:
        found = status.statuses(session, None, name)
    if not found:
        out.print("No peers yet.")
    for st in found:
        out.print(f"[bold]{st.name}[/]  {st.url}  ({st.direction})", highlight=False)
        rows = [
            ("organisation", st.organisation),
            ("fingerprint", display_fingerprint(st.fingerprint)),
            ("key", "pinned" if st.pinned else "not yet seen (pinned at first contact)"),
            ("token variable", st.token_env),
            ("last contact", _when(st.last_contact_at)),
            ("pull cursor", st.pull_cursor or "none yet"),
            ("push position", str(st.push_position)),
            ("backlog", "not pushed to" if st.backlog is None else str(st.backlog)),
            ("sent / received / rejected", f"{st.sent} / {st.received} / {st.rejected}"),
            ("vouched keys", str(st.vouched_keys)),
        ]
        if st.last_error:
            rows.append(("last error", f"{st.last_error} ({_when(st.last_error_at)})"))
        for label, value in rows:
            out.print(f"  {label + ':':<28}{value}", highlight=False, soft_wrap=True)


@peer_app.command("remove")
def peer_remove(name: str) -> None:
    """Drop the peer and disable its machine account; what it sent stays."""
    with _scope() as session:
        peers.remove_peer(session, None, name)
    out.print(f"Peer {name} removed; its machine account and tokens no longer work.")
