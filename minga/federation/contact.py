"""Asking a peer who it is: fetch its signed node identity, pin its key at first contact, keep
the keys it vouches for (`peers.refresh_identity`), learn its federation collection's URL.

The sync loop asks every few minutes; receiving asks at once when a version names an origin
key not known here (the sender may have learnt of a new node since), at most every
`REFRESH_GAP` seconds per peer, so a version never fails only because its key was news.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from minga.errors import MingaError
from minga.federation import peers
from minga.federation.identity import fetch_identity
from minga.federation.models import PeerNode
from minga.federation.push import SyncError
from minga.federation.signing import SignatureRejected, provenance_of

log = logging.getLogger("minga.federation")

REFRESH_GAP = 2.0
_asked: dict[tuple[str, str], float] = {}
_seen: dict[str, float] = {}  # peer key fingerprint → when it last called on this process
_lock = threading.Lock()

Fetch = Callable[[str], dict[str, Any] | None]


def refresh(session: Session, peer: PeerNode, fetch: Fetch = fetch_identity) -> str | None:
    """Take in the peer's current identity; the URL of its federation collection, if given."""
    doc = fetch(peer.url)
    if doc is None:
        raise SyncError(f"the peer {peer.name} answers no node identity at {peer.url}")
    peers.refresh_identity(session, peer, doc)
    found = doc.get("taxii_collection")
    return found if isinstance(found, str) and found.startswith(("http://", "https://")) else None


def has_unknown_keys(items: list[Any], key_for: Callable[[str], bytes | None]) -> bool:
    for obj in items:
        try:
            prov = provenance_of(obj) if isinstance(obj, dict) else None
        except SignatureRejected:
            continue
        if prov is not None and key_for(prov.origin_key) is None:
            return True
    return False


def refresh_for(session: Session, peer: PeerNode, items: list[Any]) -> bool:
    """Refresh the peer's identity when `items` name an origin key not known here; whether
    the keys known here may have changed."""
    if not has_unknown_keys(items, peers.key_for(session)):
        return False
    key = (peer.url, peer.fingerprint)
    with _lock:
        if time.monotonic() - _asked.get(key, 0.0) < REFRESH_GAP:
            return False
        _asked[key] = time.monotonic()
    try:
        refresh(session, peer)
    except (SyncError, MingaError) as exc:
        log.info("federation: identity of %s not refreshed: %s", peer.name, exc)
        return False
    return True


def seen(peer: PeerNode) -> None:
    """The peer just called on this node (pushed or pulled): it is up, so a sync loop that
    backs off from it may try again at once."""
    _seen[peer.fingerprint] = time.monotonic()


def last_seen(fingerprint: str) -> float:
    return _seen.get(fingerprint, 0.0)
