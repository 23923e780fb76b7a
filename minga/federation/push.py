"""Pushing versions to a peer: TAXII 2.1 POSTs of what the policy lets it receive, in position
order, batched; `push_position` moves only past what the peer accepted.

A version the peer refuses (a bad signature cannot become good) is still passed: the peer
counted and logged it; a failure of the request itself (unreachable, 5xx, bad token) moves
nothing, and the sync loop retries with backoff.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from minga.db import unit_of_work
from minga.federation import backlog, signatures
from minga.federation.keys import node_identity
from minga.federation.models import PeerNode
from minga.federation.serve import select_for_peer
from minga.settings import Settings

TAXII = "application/taxii+json;version=2.1"
BATCH = 500  # versions per POST


class SyncError(Exception):
    """A peer could not be reached or refused a request; the message says which and why."""


@dataclass(slots=True)
class PushResult:
    sent: int = 0
    refused: int = 0
    batches: int = 0


def token_of(peer: PeerNode) -> str:
    token = os.environ.get(peer.token_env or "", "")
    if not token:
        raise SyncError(
            f"the environment variable {peer.token_env or '(none named)'} holds no token for "
            f"the peer {peer.name}"
        )
    return token


def post_envelope(
    client: httpx.Client, url: str, token: str, objects: list[dict[str, object]]
) -> dict[str, object]:
    """POST one envelope; the TAXII status the peer answered (raises SyncError otherwise)."""
    try:
        response = client.post(
            url + "objects/",
            content=orjson.dumps({"objects": objects}),
            headers={
                "Content-Type": TAXII,
                "Accept": TAXII,
                "Authorization": f"Bearer {token}",
            },
        )
    except httpx.HTTPError as exc:
        raise SyncError(f"cannot reach {url}: {exc}") from None
    if response.status_code not in (200, 201, 202):
        detail = response.text[:300]
        raise SyncError(f"{url} answered {response.status_code}: {detail}")
    try:
        status = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        raise SyncError(f"{url} answered something that is not a TAXII status") from None
    if not isinstance(status, dict):
        raise SyncError(f"{url} answered something that is not a TAXII status")
    return status


def push_peer(
    sessions: sessionmaker[Session],
    settings: Settings,
    peer_id: int,
    client: httpx.Client,
    collection_url: str,
    *,
    batch: int = BATCH,
    info: dict[str, object] | None = None,
) -> PushResult:
    """Send everything due to one peer, batch after batch, until nothing past its position is."""
    result = PushResult()
    while True:
        with sessions(info=info or {}) as s:
            peer = s.get(PeerNode, peer_id)
            if peer is None:
                return result
            token = token_of(peer)
            start = peer.push_position
            since = backlog.push_from(backlog.pulling(s, peer_id), start)
            if since is None:  # the peer is pulling a backlog: its pull brings these
                return result
            if since == start:
                me = node_identity(s, name=settings.node_name, url="")
                out = select_for_peer(s, peer, me, after_us=start, limit=batch)
        if since != start:  # the peer's pull covered these: push goes on past them
            _move(sessions, peer_id, start, since, 0, info)
            continue
        if out.last_us == start:
            return result
        accepted = len(out.objects)
        if out.objects:
            status = post_envelope(client, collection_url, token, out.objects)
            failed = status.get("failure_count")
            result.refused += failed if isinstance(failed, int) else 0
            accepted -= failed if isinstance(failed, int) else 0
            result.batches += 1
        _move(sessions, peer_id, start, out.last_us, accepted, info, out.signed)
        result.sent += accepted
        if not out.more:
            return result


def _move(
    sessions: sessionmaker[Session],
    peer_id: int,
    start: int,
    to: int,
    accepted: int,
    info: dict[str, object] | None,
    signed: list[dict[str, Any]] | None = None,
) -> None:
    with unit_of_work(sessions) as s:
        s.info.update(info or {})
        signatures.keep(s, signed or [])
        # Fenced: a position another process already moved stays where it is.
        s.execute(
            update(PeerNode)
            .where(PeerNode.id == peer_id, PeerNode.push_position == start)
            .values(push_position=to, sent=PeerNode.sent + accepted)
        )
