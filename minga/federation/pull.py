"""Pulling from a peer: the catch-up path after downtime. GET the peer's federation collection
with `added_after` = the peer's `pull_cursor`, store each page through `receive`, and commit the
cursor in the same transaction as the page, so an interrupted pull resumes after the last
page stored (and stores nothing twice: receiving is idempotent anyway)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
from sqlalchemy.orm import Session, sessionmaker

from minga.db import unit_of_work
from minga.federation import contact, peers
from minga.federation.keys import node_identity
from minga.federation.models import PeerNode
from minga.federation.push import TAXII, SyncError, token_of
from minga.federation.receive import Received, receive
from minga.intel.stix import ts_to_us
from minga.settings import Settings

PAGE = 1000


@dataclass(slots=True)
class PullResult:
    pages: int = 0
    received: int = 0
    stored: int = 0
    existing: int = 0
    rejected: int = 0


def get_page(
    client: httpx.Client, url: str, token: str, added_after: str | None, limit: int
) -> tuple[list[Any], bool, str | None]:
    """One page: its objects, whether there is more, and the position it covers."""
    params: dict[str, Any] = {"limit": limit}
    if added_after:
        params["added_after"] = added_after
    try:
        response = client.get(
            url + "objects/",
            params=params,
            headers={"Accept": TAXII, "Authorization": f"Bearer {token}"},
        )
    except httpx.HTTPError as exc:
        raise SyncError(f"cannot reach {url}: {exc}") from None
    if response.status_code != 200:
        raise SyncError(f"{url} answered {response.status_code}: {response.text[:300]}")
    try:
        body = orjson.loads(response.content) if response.content else {}
    except orjson.JSONDecodeError:
        raise SyncError(f"{url} answered something that is not JSON") from None
    objects = body.get("objects", []) if isinstance(body, dict) else None
    if not isinstance(objects, list):
        raise SyncError(f"{url} answered an envelope whose objects are not a list")
    last = response.headers.get("x-taxii-date-added-last")
    if last is not None:
        try:
            ts_to_us(last)
        except ValueError:
            raise SyncError(f"{url} sent X-TAXII-Date-Added-Last {last!r}") from None
    return objects, bool(body.get("more")), last


def pull_peer(
    sessions: sessionmaker[Session],
    settings: Settings,
    peer_id: int,
    client: httpx.Client,
    collection_url: str,
    *,
    limit: int = PAGE,
) -> PullResult:
    """Pull every page past the peer's cursor; raises SyncError when the peer fails.

    The next page is fetched while this one is verified and stored (its cursor is known from
    this page's Date-Added-Last), so the peer's serving and this node's storing overlap."""
    result = PullResult()
    with sessions() as s:
        peer = s.get(PeerNode, peer_id)
        if peer is None:
            return result
        token, cursor = token_of(peer), peer.pull_cursor
    with ThreadPoolExecutor(1, thread_name_prefix="minga-pull") as ahead:
        page = ahead.submit(get_page, client, collection_url, token, cursor, limit)
        while True:
            objects, more, last = page.result()
            follows = more and last is not None and last != cursor
            if follows:
                page = ahead.submit(get_page, client, collection_url, token, last, limit)
            got = _store_page(sessions, settings, peer_id, objects, last)
            if got is None:
                return result
            result.pages += 1
            result.received += len(objects)
            result.stored += len(got.stored)
            result.existing += len(got.existing)
            result.rejected += len(got.rejected)
            if not follows:
                return result
            cursor = last


def _store_page(
    sessions: sessionmaker[Session],
    settings: Settings,
    peer_id: int,
    objects: list[Any],
    last: str | None,
) -> Received | None:
    """Receive one page and move the cursor past it, in one transaction (whose commit wakes
    the push loop: what arrived is forwarded at once)."""
    with unit_of_work(sessions) as s:
        peer = s.get(PeerNode, peer_id)
        if peer is None:
            return None
        me = node_identity(s, name=settings.node_name, url="")
        contact.refresh_for(s, peer, objects)
        got = receive(
            s,
            peer,
            objects,
            key_for=peers.key_for(s),
            node_for=peers.node_for_key(s),
            me=me,
        )
        if last is not None:
            peer.pull_cursor = last
        peers.record_contact(s, peer)
    return got
