"""Recall receipts: signed statements that a node stored a version ("received") or its
revocation ("recalled"), carried hop by hop back to the object's origin.

- Every arrival (a version this node stored from a peer, `Arrival`) gets this node's own
  receipt, queued towards the peer it came from (`queue_from_arrivals`).
- A receipt a peer delivers (`accept`) is verified against a pinned or vouched key, or against
  the key the delivering peer vouches for (it verified the receipt itself before forwarding);
  then it is kept when the object originated here, or queued towards the peer this node
  received the object from (its own arrivals) — so it reaches the origin along the path the
  object took.
- The origin counts distinct receiving nodes (by key fingerprint): "received by N nodes,
  recalled at M of N" (`minga.federation.receipt_tally`).

Services take a session and never commit; the drain loop (`minga.federation.receipt_drain`)
sends the queue.
"""

from __future__ import annotations

import base64
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from minga.accounts.models import NodeSetting
from minga.errors import InvalidInput
from minga.federation.keys import NodeIdentity, decode_public_key, fingerprint
from minga.federation.models import Arrival, PeerNode
from minga.federation.receipt_models import QUEUED, STATES, OutgoingReceipt, Receipt
from minga.federation.signing import SignatureRejected, sign_document, verify_document
from minga.intel.models import objects

log = logging.getLogger("minga.federation")

RECEIPT_TYPE = "minga-receipt"
MAX_PER_REQUEST = 1000
CHUNK = 500  # ids per IN (...) look-up
# Arrivals are read past a cursor; it only moves over arrivals older than this, so a version
# whose transaction took long to commit (an id given out earlier than its neighbours') is
# still seen.
SETTLED = timedelta(minutes=10)
CURSOR_KEY = "federation_receipts_arrival_cursor"
FIELDS = {"type", "object", "modified", "state", "node", "fingerprint", "at", "signature"}
_STIX_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,60}--[0-9a-fA-F-]{36}$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")

KeyFor = Callable[[str], bytes | None]


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def state_of(revoked: bool) -> str:
    return "recalled" if revoked else "received"


def receipt_document(
    node: NodeIdentity, stix_id: str, modified: str, state: str, at: datetime | None = None
) -> dict[str, Any]:
    """This node's signed receipt for one version of an object."""
    doc = {
        "type": RECEIPT_TYPE,
        "object": stix_id,
        "modified": modified,
        "state": state,
        "node": node.name,
        "fingerprint": node.fingerprint,
        "at": _iso(at or _now()),
    }
    return sign_document(doc, node.signing_key)


# -- this node's own receipts, from arrivals -------------------------------------------------


def _cursor(session: Session) -> int:
    row = session.get(NodeSetting, CURSOR_KEY)
    return int(row.value) if row is not None and row.value.isdigit() else 0


def queue_from_arrivals(session: Session, node: NodeIdentity, *, limit: int = 1000) -> int:
    """Queue this node's receipt for arrivals that have none yet; how many were queued."""
    cursor = _cursor(session)
    answered = exists().where(OutgoingReceipt.arrival_id == Arrival.id)
    pending = session.scalars(
        select(Arrival).where(Arrival.id > cursor, ~answered).order_by(Arrival.id).limit(limit)
    ).all()
    now = _now()
    held = _queued_keys(session, {a.stix_id for a in pending}, node.fingerprint)
    rows = []
    for arrival in pending:
        state = state_of(arrival.revoked)
        key = (arrival.from_peer_id, arrival.stix_id, arrival.modified, state)
        if key in held:  # the same version arrived twice (a re-sent copy)
            continue
        held.add(key)
        doc = receipt_document(node, arrival.stix_id, arrival.modified, state, now)
        rows.append(
            _outgoing(arrival.from_peer_id, doc, node.public_key_b64, now, arrival_id=arrival.id)
        )
    session.add_all(rows)
    session.flush()
    queued = len(rows)
    settled = session.scalar(
        select(func.max(Arrival.id)).where(Arrival.id > cursor, Arrival.arrived_at < now - SETTLED)
    )
    if settled is not None and len(pending) < limit:
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
) -> OutgoingReceipt:
    return OutgoingReceipt(
        arrival_id=arrival_id,
        to_peer_id=peer_id,
        stix_id=doc["object"],
        modified=doc["modified"],
        state=doc["state"],
        fingerprint=doc["fingerprint"],
        public_key=public_key,
        document=orjson.dumps(doc).decode(),
        created_at=now,
        status=QUEUED,
        attempts=0,
        next_attempt_at=now,
    )


# -- receipts delivered by a peer ------------------------------------------------------------


@dataclass(slots=True)
class Outcome:
    object: str | None
    state: str | None
    outcome: str  # stored, forwarded, duplicate, rejected
    reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"object": self.object, "state": self.state, "outcome": self.outcome}
        if self.reason:
            out["reason"] = self.reason
        return out


@dataclass(slots=True)
class Accepted:
    results: list[Outcome] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(1 for r in self.results if r.outcome == outcome)


def parse_batch(body: Any) -> list[Any]:
    """The receipts of a `POST /federation/receipts` body: `{"receipts": [...]}`."""
    if not isinstance(body, dict) or not isinstance(body.get("receipts"), list):
        raise InvalidInput('send {"receipts": [{"receipt": <signed receipt>, "public_key": ...}]}')
    items: list[Any] = body["receipts"]
    if len(items) > MAX_PER_REQUEST:
        raise InvalidInput(f"at most {MAX_PER_REQUEST} receipts per request")
    return items


def _checked(item: Any) -> tuple[dict[str, Any], str | None]:
    """The receipt document of one item and the key its sender vouches for (unverified)."""
    if not isinstance(item, dict) or not isinstance(item.get("receipt"), dict):
        raise InvalidInput("each item is {receipt, public_key}")
    doc: dict[str, Any] = item["receipt"]
    vouched = item.get("public_key")
    if vouched is not None and not isinstance(vouched, str):
        raise InvalidInput("public_key must be a base64 Ed25519 key")
    if doc.get("type") != RECEIPT_TYPE:
        raise InvalidInput(f"the document is not a {RECEIPT_TYPE}")
    problems = []
    if extra := sorted(set(doc) - FIELDS):
        problems.append(f"unexpected fields: {', '.join(extra)[:200]}")
    if not isinstance(doc.get("object"), str) or not _STIX_ID.match(doc["object"]):
        problems.append("object must be a STIX id")
    for name in ("modified", "at"):
        if not isinstance(doc.get(name), str) or not 0 < len(doc[name]) <= 40:
            problems.append(f"{name} must be a timestamp")
    if doc.get("state") not in STATES:
        problems.append("state must be received or recalled")
    if not isinstance(doc.get("node"), str) or not 0 < len(doc["node"]) <= 200:
        problems.append("node must be a node name")
    if not isinstance(doc.get("fingerprint"), str) or not _HEX64.match(doc["fingerprint"]):
        problems.append("fingerprint must be 64 hexadecimal digits")
    if problems:
        raise InvalidInput("; ".join(problems))
    return doc, vouched


def _signer_key(doc: dict[str, Any], vouched: str | None, key_for: KeyFor) -> tuple[bytes, bool]:
    """The key to verify a receipt with, and whether only the delivering peer vouches for it."""
    fp = doc["fingerprint"]
    known = key_for(fp)
    if known is not None and fingerprint(known) == fp:
        return known, False
    if vouched is None:
        raise SignatureRejected(f"the key {fp[:16]}… of node {doc['node']!r} is not known here")
    key = decode_public_key(vouched)
    if fingerprint(key) != fp:
        raise SignatureRejected("the public key does not match the receipt's fingerprint")
    return key, True


def route_towards_origin(session: Session, stix_id: str, modified: str) -> int | None:
    """The peer this node received the object from (that version's arrival, else the newest)."""
    for where in ((Arrival.modified == modified,), ()):
        peer_id = session.scalar(
            select(Arrival.from_peer_id)
            .where(Arrival.stix_id == stix_id, *where)
            .order_by(Arrival.id.desc())
            .limit(1)
        )
        if peer_id is not None:
            return int(peer_id)
    return None


@dataclass(slots=True)
class _Known:
    """What the receipts of one delivery are checked against, read once for the whole batch."""

    ours: set[str]  # ids that originated here
    held: set[tuple[str, str, str, str]]  # kept here: (id, modified, state, signer)
    queued: set[tuple[int, str, str, str, str]]  # to send: (peer, id, modified, state, signer)
    routes: dict[tuple[str, str], int | None] = field(default_factory=dict)


def _known(session: Session, items: Sequence[Any]) -> _Known:
    ids = sorted(
        {
            doc["object"]
            for item in items
            if isinstance(item, dict)
            and isinstance(doc := item.get("receipt"), dict)
            and isinstance(doc.get("object"), str)
        }
    )
    known = _Known(set(), set(), set())
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        known.ours.update(
            session.scalars(
                select(objects.c.stix_id)
                .where(objects.c.stix_id.in_(chunk), objects.c.origin_node.is_(None))
                .distinct()
            )
        )
        known.held.update(
            (i, m, st, fp)
            for i, m, st, fp in session.execute(
                select(Receipt.stix_id, Receipt.modified, Receipt.state, Receipt.fingerprint).where(
                    Receipt.stix_id.in_(chunk)
                )
            )
        )
        queued = select(
            OutgoingReceipt.to_peer_id,
            OutgoingReceipt.stix_id,
            OutgoingReceipt.modified,
            OutgoingReceipt.state,
            OutgoingReceipt.fingerprint,
        ).where(OutgoingReceipt.stix_id.in_(chunk))
        known.queued.update((int(p), i, m, st, fp) for p, i, m, st, fp in session.execute(queued))
    return known


def accept(
    session: Session, sender: PeerNode, items: Sequence[Any], *, node: NodeIdentity, key_for: KeyFor
) -> Accepted:
    """Verify and keep (own objects) or forward (others) the receipts a peer delivered.

    A bad item is rejected with its reason and the others still count; nothing raises for one.
    """
    result = Accepted()
    now = _now()
    known = _known(session, items)
    for item in items:
        doc = item.get("receipt") if isinstance(item, dict) else None
        stix_id = doc.get("object") if isinstance(doc, dict) else None
        state = doc.get("state") if isinstance(doc, dict) else None
        try:
            outcome = _accept_one(session, sender, item, node, key_for, now, known)
        except InvalidInput as exc:  # SignatureRejected is one
            log.warning("receipt from peer %s rejected: %s", sender.name, exc.message)
            outcome = Outcome(None, None, "rejected", exc.message)
        outcome.object = stix_id if isinstance(stix_id, str) else None
        outcome.state = state if state in STATES else None
        result.results.append(outcome)
    session.flush()
    return result


def _accept_one(
    session: Session,
    sender: PeerNode,
    item: Any,
    node: NodeIdentity,
    key_for: KeyFor,
    now: datetime,
    known: _Known,
) -> Outcome:
    doc, vouched = _checked(item)
    key, key_vouched = _signer_key(doc, vouched, key_for)
    verify_document(doc, key)
    stix_id, modified, state, fp = doc["object"], doc["modified"], doc["state"], doc["fingerprint"]
    if fp == node.fingerprint:
        raise InvalidInput("the receipt is this node's own")
    if stix_id in known.ours:
        if (stix_id, modified, state, fp) in known.held:
            return Outcome(stix_id, state, "duplicate")
        known.held.add((stix_id, modified, state, fp))
        session.add(
            Receipt(
                stix_id=stix_id,
                modified=modified,
                state=state,
                node_name=doc["node"],
                fingerprint=fp,
                signed_at=doc["at"],
                received_at=now,
                via_peer_id=sender.id,
                key_vouched=key_vouched,
                document=orjson.dumps(doc).decode(),
            )
        )
        return Outcome(stix_id, state, "stored")
    if (stix_id, modified) not in known.routes:
        known.routes[(stix_id, modified)] = route_towards_origin(session, stix_id, modified)
    towards = known.routes[(stix_id, modified)]
    if towards is None:
        raise InvalidInput(f"this node holds no object {stix_id} and knows no way to its origin")
    if towards == sender.id:
        raise InvalidInput("the receipt came from the peer this node received the object from")
    if (towards, stix_id, modified, state, fp) in known.queued:
        return Outcome(stix_id, state, "duplicate")
    known.queued.add((towards, stix_id, modified, state, fp))
    session.add(_outgoing(towards, doc, base64.b64encode(key).decode(), now))
    return Outcome(stix_id, state, "forwarded")
