"""The background loop that sends receipts towards their origin (one per node: a lease).

Each round: if there is work (arrivals without this node's receipt, or receipts due), take the
node's lease, sign receipts for new arrivals, then POST what is due to each peer in batches
(`POST /federation/receipts` with the token in the peer's `token_env` variable). A refused
request or an unreachable peer puts every queued receipt of that peer back with exponential
backoff (2 s doubling to 5 min); a receipt the peer rejects (its reason is kept) is not re-sent.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from minga.background import Periodic
from minga.db import unit_of_work
from minga.federation import peers
from minga.federation.keys import node_identity
from minga.federation.lease import NodeLease
from minga.federation.models import PeerNode
from minga.federation.receipt_models import QUEUED, REJECTED, SENT, OutgoingReceipt
from minga.federation.receipts import (
    has_new_arrivals,
    has_unanswered_arrivals,
    queue_from_arrivals,
)

log = logging.getLogger("minga.federation")

LEASE = "federation-receipts"
LEASE_TTL = timedelta(seconds=30)
BATCH = 500
MAX_BATCHES = 20  # per peer and round: other peers get their turn
QUEUE_BATCH = 1000
LOOK_EVERY = 30  # rounds between looks for arrivals that committed late
BACKOFF_FIRST = 2.0
BACKOFF_MAX = 300.0
TIMEOUT = 10.0
PATH = "/federation/receipts"


def backoff(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failed delivery: 2 s, 4 s, 8 s, … at most 5 min."""
    return timedelta(seconds=min(BACKOFF_FIRST * 2 ** max(attempts - 1, 0), BACKOFF_MAX))


_SENT_COLUMNS = (
    OutgoingReceipt.id,
    OutgoingReceipt.stix_id,
    OutgoingReceipt.document,
    OutgoingReceipt.public_key,
    OutgoingReceipt.attempts,
)


def _due(now: datetime) -> tuple[Any, ...]:
    return (OutgoingReceipt.status == QUEUED, OutgoingReceipt.next_attempt_at <= now)


@dataclass
class Drain:
    """Sends this node's queue of receipts; `http` is any httpx client (tests pass an app's)."""

    sessions: sessionmaker[Session]
    node_name: str
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=TIMEOUT))
    lease: NodeLease = field(init=False)
    rounds: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self.lease = NodeLease(self.sessions, LEASE, LEASE_TTL)

    def round(self) -> int:
        """One round; how many receipts a peer took (stored, forwarded or already held)."""
        now = datetime.now(UTC)
        look = self.rounds % LOOK_EVERY == 0
        self.rounds += 1
        with self.sessions() as session:
            work = (
                session.scalar(select(OutgoingReceipt.id).where(*_due(now)).limit(1)) is not None
                or has_new_arrivals(session)
                or (look and has_unanswered_arrivals(session))
            )
        if not work:
            return 0  # the usual case: reads only, so an idle node takes no write lock
        if not self.lease.hold():
            return 0
        for _ in range(MAX_BATCHES):
            with unit_of_work(self.sessions) as session:
                node = node_identity(session, name=self.node_name, url="")
                if not queue_from_arrivals(session, node, limit=QUEUE_BATCH, whole_window=look):
                    break
        with self.sessions() as session:
            peer_ids = session.scalars(
                select(OutgoingReceipt.to_peer_id)
                .where(*_due(datetime.now(UTC)))
                .group_by(OutgoingReceipt.to_peer_id)
            ).all()
        return sum(self._send_to(peer_id) for peer_id in peer_ids)

    def stop(self) -> None:
        self.lease.release()
        self.http.close()

    def _send_to(self, peer_id: int) -> int:
        taken = 0
        for _ in range(MAX_BATCHES):
            with self.sessions() as session:
                peer = session.get(PeerNode, peer_id)
                batch = session.execute(
                    select(*_SENT_COLUMNS)
                    .where(OutgoingReceipt.to_peer_id == peer_id, *_due(datetime.now(UTC)))
                    .order_by(OutgoingReceipt.id)
                    .limit(BATCH)
                ).all()
            if peer is None or not batch:
                return taken
            results, error = self._post(peer, batch)
            with unit_of_work(self.sessions) as session:
                peer = session.get(PeerNode, peer_id)
                if peer is None:  # removed meanwhile: its queue went with it
                    return taken
                peers.record_contact(session, peer, error=error)
                if results is None:
                    _back_off(session, peer_id, max(r.attempts for r in batch) + 1, error)
                    log.warning("receipts to peer %s not delivered: %s", peer.name, error)
                    return taken
                taken += _record(session, batch, results)
            if len(batch) < BATCH:
                return taken
        return taken

    def _post(
        self, peer: PeerNode, batch: Sequence[Any]
    ) -> tuple[list[dict[str, Any]] | None, str | None]:
        token = os.environ.get(peer.token_env) if peer.token_env else None
        if not token:
            return None, f"no token for the peer: set the environment variable {peer.token_env!r}"
        body = {
            "receipts": [
                {"receipt": orjson.loads(r.document), "public_key": r.public_key} for r in batch
            ]
        }
        try:
            answer = self.http.post(
                peer.url.rstrip("/") + PATH,
                content=orjson.dumps(body),
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            )
        except httpx.HTTPError as exc:
            return None, f"the peer could not be reached: {exc}"
        if answer.status_code != 200:
            return None, f"the peer answered {answer.status_code}: {answer.text[:300]}"
        try:
            results = answer.json()["results"]
        except (ValueError, KeyError, TypeError):
            return None, "the peer's answer is not a receipts result"
        if not isinstance(results, list) or len(results) != len(batch):
            return None, "the peer's answer does not list every receipt sent"
        return results, None


def _record(session: Session, batch: Sequence[Any], results: list[Any]) -> int:
    """Mark each sent receipt by the peer's answer (one UPDATE for those it took); how many
    it took."""
    now = datetime.now(UTC)
    taken: list[int] = []
    for sent, result in zip(batch, results, strict=True):
        outcome = result.get("outcome") if isinstance(result, dict) else None
        if outcome != "rejected":
            taken.append(sent.id)
            continue
        reason = str(result.get("reason") or "rejected by the peer")[:1000]
        log.warning("peer rejected the receipt for %s: %s", sent.stix_id, reason)
        session.execute(
            update(OutgoingReceipt)
            .where(OutgoingReceipt.id == sent.id)
            .values(
                attempts=OutgoingReceipt.attempts + 1,
                sent_at=now,
                status=REJECTED,
                last_error=reason,
            )
        )
    for start in range(0, len(taken), BATCH):
        session.execute(
            update(OutgoingReceipt)
            .where(OutgoingReceipt.id.in_(taken[start : start + BATCH]))
            .values(
                attempts=OutgoingReceipt.attempts + 1, sent_at=now, status=SENT, last_error=None
            )
        )
    return len(taken)


def _back_off(session: Session, peer_id: int, attempts: int, error: str | None) -> None:
    session.execute(
        update(OutgoingReceipt)
        .where(OutgoingReceipt.to_peer_id == peer_id, OutgoingReceipt.status == QUEUED)
        .values(
            attempts=OutgoingReceipt.attempts + 1,
            next_attempt_at=datetime.now(UTC) + backoff(attempts),
            last_error=error,
        )
    )


def backlog(session: Session) -> dict[int, int]:
    """Receipts still queued, per peer id."""
    rows = session.execute(
        select(OutgoingReceipt.to_peer_id, func.count())
        .where(OutgoingReceipt.status == QUEUED)
        .group_by(OutgoingReceipt.to_peer_id)
    ).all()
    return {int(peer_id): int(count) for peer_id, count in rows}


class ReceiptLoop(Periodic):
    """The drain as a background loop of `minga serve` (a daemon thread)."""

    def __init__(self, drain: Drain, seconds: float) -> None:
        super().__init__("federation-receipts", seconds, drain.round)
        self.drain = drain

    def stop(self, timeout: float = 10.0) -> None:
        super().stop(timeout)
        try:
            self.drain.stop()
        except Exception:  # the database may be gone at shutdown; the lease then expires
            log.warning("the receipts lease was not released", exc_info=True)
