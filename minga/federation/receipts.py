"""Recall receipts: signed statements that a node stored a version ("received") or its
revocation ("recalled"), carried hop by hop back to the object's origin.

- Every arrival (a version this node stored from a peer, `Arrival`) gets this node's own
  receipt, queued towards the peer it came from (`queue_from_arrivals`).
  A batch of them is signed once (`receipt_documents`, `signing.sign_documents`).
- A receipt a peer delivers is verified, then kept or forwarded towards the origin along the
  path the object took (`minga.federation.receipt_accept`).
- The origin counts distinct receiving nodes (by key fingerprint): "received by N nodes,
  recalled at M of N" (`minga.federation.receipt_tally`).

Services take a session and never commit; the drain loop (`minga.federation.receipt_drain`)
sends the queue.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import exists, func, insert, select
from sqlalchemy.orm import Session

from minga.accounts.models import NodeSetting
from minga.federation.keys import NodeIdentity
from minga.federation.models import Arrival
from minga.federation.receipt_models import QUEUED, OutgoingReceipt
from minga.federation.signing import sign_document, sign_documents

RECEIPT_TYPE = "minga-receipt"
CHUNK = 500  # ids per IN (...) look-up
# Arrivals are read past a cursor; it only moves over arrivals older than this, so a version
# whose transaction took long to commit (an id given out earlier than its neighbours') is
# still seen.
SETTLED = timedelta(minutes=10)
CURSOR_KEY = "federation_receipts_arrival_cursor"


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def state_of(revoked: bool) -> str:
    return "recalled" if revoked else "received"


def _unsigned_receipt(
    node: NodeIdentity, stix_id: str, modified: str, state: str, at: datetime
) -> dict[str, Any]:
    return {
        "type": RECEIPT_TYPE,
        "object": stix_id,
        "modified": modified,
        "state": state,
        "node": node.name,
        "fingerprint": node.fingerprint,
        "at": _iso(at),
    }


def receipt_document(
    node: NodeIdentity, stix_id: str, modified: str, state: str, at: datetime | None = None
) -> dict[str, Any]:
    """This node's signed receipt for one version of an object."""
    doc = _unsigned_receipt(node, stix_id, modified, state, at or _now())
    return sign_document(doc, node.signing_key)


def receipt_documents(
    node: NodeIdentity, versions: list[tuple[str, str, str]], at: datetime | None = None
) -> list[dict[str, Any]]:
    """This node's receipts for many versions ((id, modified, state) each), signed as one
    batch (`signing.sign_documents`): one signature, each receipt still verifiable alone."""
    moment = at or _now()
    docs = [_unsigned_receipt(node, i, m, st, moment) for i, m, st in versions]
    return sign_documents(docs, node.signing_key)


# -- this node's own receipts, from arrivals -------------------------------------------------


def _cursor(session: Session) -> int:
    row = session.get(NodeSetting, CURSOR_KEY)
    return int(row.value) if row is not None and row.value.isdigit() else 0


def queue_from_arrivals(
    session: Session, node: NodeIdentity, *, limit: int = 1000, whole_window: bool = True
) -> int:
    """Queue this node's receipt for arrivals that have none yet; how many were queued.

    `whole_window=False` looks only past the newest arrival answered (an index look-up), not
    over every answered one since the cursor, which lags `SETTLED` behind: in a backfill that
    scan grew with each batch. Arrivals that committed late are found by a whole-window call
    now and then (`receipt_drain.LOOK_EVERY`), which alone moves the cursor."""
    cursor = _cursor(session)
    start = cursor
    if not whole_window:
        newest = session.scalar(select(func.max(OutgoingReceipt.arrival_id)))
        start = max(cursor, int(newest or 0))
    answered = exists().where(OutgoingReceipt.arrival_id == Arrival.id)
    pending = session.execute(
        select(Arrival.id, Arrival.from_peer_id, Arrival.stix_id, Arrival.modified, Arrival.revoked)
        .where(Arrival.id > start, ~answered)
        .order_by(Arrival.id)
        .limit(limit)
    ).all()
    now = _now()
    held = _queued_keys(session, {a.stix_id for a in pending}, node.fingerprint)
    answering = []
    for arrival in pending:
        state = state_of(arrival.revoked)
        key = (arrival.from_peer_id, arrival.stix_id, arrival.modified, state)
        if key in held:  # the same version arrived twice (a re-sent copy)
            continue
        held.add(key)
        answering.append((arrival, state))
    docs = receipt_documents(node, [(a.stix_id, a.modified, st) for a, st in answering], now)
    rows = [
        _outgoing(a.from_peer_id, doc, node.public_key_b64, now, arrival_id=a.id)
        for (a, _), doc in zip(answering, docs, strict=True)
    ]
    if rows:  # one executemany, not an ORM object per receipt
        session.execute(insert(OutgoingReceipt), rows)
    queued = len(rows)
    if not whole_window or len(pending) >= limit:
        return queued
    settled = session.scalar(
        select(func.max(Arrival.id)).where(Arrival.id > cursor, Arrival.arrived_at < now - SETTLED)
    )
    if settled is not None:
        row = session.get(NodeSetting, CURSOR_KEY)
        if row is None:
            session.add(NodeSetting(key=CURSOR_KEY, value=str(settled)))
        else:
            row.value = str(settled)
    return queued


def has_new_arrivals(session: Session) -> bool:
    """An arrival newer than the newest one answered (two index look-ups: every round)."""
    newest = session.scalar(select(func.max(OutgoingReceipt.arrival_id)))
    after = max(int(newest or 0), _cursor(session))
    return session.scalar(select(Arrival.id).where(Arrival.id > after).limit(1)) is not None


def has_unanswered_arrivals(session: Session) -> bool:
    """Any arrival past the cursor without this node's receipt (one that committed late), or
    settled arrivals the cursor could move over: a look over the window, now and then."""
    cursor = _cursor(session)
    answered = exists().where(OutgoingReceipt.arrival_id == Arrival.id)
    found = session.scalar(select(Arrival.id).where(Arrival.id > cursor, ~answered).limit(1))
    if found is not None:
        return True
    settled = select(Arrival.id).where(Arrival.id > cursor, Arrival.arrived_at < _now() - SETTLED)
    return session.scalar(settled.limit(1)) is not None


def _queued_keys(session: Session, stix_ids: set[str], fp: str) -> set[tuple[int, str, str, str]]:
    """(peer, id, modified, state) of the receipts signed by `fp` already queued for `stix_ids`."""
    found: set[tuple[int, str, str, str]] = set()
    ids = sorted(stix_ids)
    for start in range(0, len(ids), CHUNK):
        rows = session.execute(
            select(
                OutgoingReceipt.to_peer_id,
                OutgoingReceipt.stix_id,
                OutgoingReceipt.modified,
                OutgoingReceipt.state,
            ).where(
                OutgoingReceipt.fingerprint == fp,
                OutgoingReceipt.stix_id.in_(ids[start : start + CHUNK]),
            )
        )
        found.update((int(p), i, m, st) for p, i, m, st in rows)
    return found


def _outgoing(
    peer_id: int,
    doc: dict[str, Any],
    public_key: str,
    now: datetime,
    *,
    arrival_id: int | None = None,
) -> dict[str, Any]:
    """The row (for an `insert(OutgoingReceipt)`) queueing `doc` towards a peer."""
    return {
        "arrival_id": arrival_id,
        "to_peer_id": peer_id,
        "stix_id": doc["object"],
        "modified": doc["modified"],
        "state": doc["state"],
        "fingerprint": doc["fingerprint"],
        "public_key": public_key,
        "document": orjson.dumps(doc).decode(),
        "created_at": now,
        "status": QUEUED,
        "attempts": 0,
        "next_attempt_at": now,
    }
