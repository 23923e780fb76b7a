"""The federation sync loop that runs while the node serves: push to push peers as soon as a
version commits, pull from pull peers at start and every `federation_pull_seconds`, and
refresh each peer's signed node identity (its key, the keys it vouches for).

One loop per node, whatever the number of processes: it works only while it holds the
node lease (`minga.federation.lease`). A commit in any process of the node wakes it at once
(a SQLAlchemy `after_commit` hook on the node's sessions, which also rings
`minga.federation.doorbell` across processes); a short poll (`federation_sync_seconds`)
catches what no bell announced. A peer that fails is retried with exponential
backoff (1 s doubling to `MAX_BACKOFF`), its error recorded for `minga peer status`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
from fastapi import APIRouter, FastAPI
from sqlalchemy import event, select
from sqlalchemy.orm import Session, sessionmaker

from minga.db import unit_of_work
from minga.errors import MingaError
from minga.federation import contact, peers
from minga.federation.collection import collection_url, ensure_collection
from minga.federation.doorbell import Doorbell, bell_path
from minga.federation.keys import ensure_key
from minga.federation.lease import NodeLease
from minga.federation.models import PeerNode
from minga.federation.pull import pull_peer
from minga.federation.push import SyncError, push_peer
from minga.settings import Settings

log = logging.getLogger("minga.federation")

QUIET: dict[str, object] = {
    "federation_sync": True
}  # commits of the loop's own bookkeeping wake nobody
MAX_BACKOFF = 60.0
IDENTITY_EVERY = 300.0  # seconds between fetches of a peer's node identity
LEASE = timedelta(seconds=20)


@dataclass(slots=True)
class _PeerState:
    collection_url: str | None = None
    identity_at: float = 0.0
    retry_at: float = 0.0
    failed_at: float = 0.0
    delay: float = 0.0


class SyncLoop:
    def __init__(self, sessions: sessionmaker[Session], settings: Settings) -> None:
        self.sessions, self.settings = sessions, settings
        self.wake = threading.Event()
        self._stop = threading.Event()
        self.lease = NodeLease(sessions, "federation-sync", LEASE, info=QUIET)
        self.state: dict[int, _PeerState] = {}
        self.next_pull = 0.0
        self.ready = False
        self.client = httpx.Client(timeout=httpx.Timeout(30.0, connect=5.0))
        self._thread = threading.Thread(target=self._run, name="minga-federation", daemon=True)
        self.bell = Doorbell(bell_path(settings.database_url, settings.node_name))

    # -- lifecycle -------------------------------------------------------------------------

    def on_commit(self, session: Session) -> None:
        if not session.info.get("federation_sync"):
            self.wake.set()
            self.bell.ring()  # the lease may be held by another process of this node

    def start(self) -> None:
        event.listen(self.sessions, "after_commit", self.on_commit)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        event.remove(self.sessions, "after_commit", self.on_commit)
        self._stop.set()
        self.wake.set()
        self._thread.join(timeout)
        self.bell.close()
        try:
            self.lease.release()
        except Exception:  # the database may be gone at shutdown; the lease expires anyway
            log.debug("federation lease not released", exc_info=True)
        self.client.close()

    def _run(self) -> None:
        poll = self.settings.federation_sync_seconds
        while not self._stop.is_set():
            self.wake.wait(poll)
            self.wake.clear()
            if self._stop.is_set():
                return
            try:
                self.round()
            except Exception:  # the loop must survive a bad database moment
                log.exception("federation sync round failed")

    # -- one round -------------------------------------------------------------------------

    def round(self) -> None:
        with self.sessions() as s:
            found = s.execute(select(PeerNode.id, PeerNode.direction, PeerNode.fingerprint)).all()
        if not found:
            return  # a node without peers does nothing (and writes nothing)
        if not self.lease.hold():
            self.bell.release()  # the holder, another process, binds the bell
            return
        self.bell.listen(self.wake.set)  # the holder hears every process's commits
        if not self.ready:
            with unit_of_work(self.sessions) as s:
                s.info.update(QUIET)
                ensure_key(s)
                ensure_collection(s)
            self.ready = True
        now = time.monotonic()
        pull_due = now >= self.next_pull
        if pull_due:
            self.next_pull = now + max(1, self.settings.federation_pull_seconds)
        for peer_id, direction, fp in found:
            state = self.state.setdefault(peer_id, _PeerState())
            back = contact.last_seen(fp) > state.failed_at  # it called since: it is up again
            if time.monotonic() < state.retry_at and not back:
                continue
            try:
                self._sync_peer(peer_id, direction, state, pull_due)
                state.delay = 0.0
            except (SyncError, MingaError) as exc:
                message = exc.message if isinstance(exc, MingaError) else str(exc)
                state.delay = min(MAX_BACKOFF, state.delay * 2 or 1.0)
                state.failed_at = time.monotonic()
                state.retry_at = state.failed_at + state.delay
                state.identity_at = 0.0  # after a failure, ask who it is again
                log.warning(
                    "federation: peer %s: %s (retry in %.0f s)", peer_id, message, state.delay
                )
                self._record_error(peer_id, message)

    def _sync_peer(self, peer_id: int, direction: str, state: _PeerState, pull_due: bool) -> None:
        if state.collection_url is None or time.monotonic() - state.identity_at > IDENTITY_EVERY:
            with unit_of_work(self.sessions) as s:
                s.info.update(QUIET)
                peer = s.get(PeerNode, peer_id)
                if peer is None:
                    return
                url = contact.refresh(s, peer) or collection_url(peer.url)
            state.collection_url, state.identity_at = url, time.monotonic()
        url = state.collection_url
        assert url is not None
        if direction in ("push", "both"):
            self.lease.hold()
            push_peer(self.sessions, self.settings, peer_id, self.client, url, info=QUIET)
        if direction in ("pull", "both") and (pull_due or state.delay):
            pull_peer(self.sessions, self.settings, peer_id, self.client, url)

    def _record_error(self, peer_id: int, message: str) -> None:
        try:
            with unit_of_work(self.sessions) as s:
                s.info.update(QUIET)
                peer = s.get(PeerNode, peer_id)
                if peer is not None:
                    peers.record_contact(s, peer, error=message[:2000])
        except Exception:
            log.debug("federation: error of peer %s not recorded", peer_id, exc_info=True)


@asynccontextmanager
async def federation_sync(app: FastAPI) -> AsyncIterator[None]:
    """While the node serves: the sync loop (unless `federation_sync_seconds` is 0)."""
    node: Any = app.state.node
    if node.settings.federation_sync_seconds <= 0:
        yield
        return
    loop = SyncLoop(node.sessions, node.settings)
    loop.start()
    try:
        yield
    finally:
        loop.stop()


router = APIRouter(lifespan=federation_sync)
