"""Receipts a peer delivers (`POST /federation/receipts`): verified, then kept or forwarded.

A receipt is verified against a pinned or vouched key, or against the key the delivering peer
vouches for (it verified the receipt itself before forwarding); receipts signed in one batch
(`signing.sign_documents`) cost one signature check per delivery. Then it is kept when the
object originated here, or queued towards the peer this node received the object from (its
own arrivals) — so it reaches the origin along the path the object took. Rows are written with
one insert per delivery, not an ORM object per receipt.
"""

from __future__ import annotations

import base64
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from minga.errors import InvalidInput
from minga.federation.keys import NodeIdentity, decode_public_key, fingerprint
from minga.federation.models import Arrival, PeerNode
from minga.federation.receipt_models import STATES, OutgoingReceipt, Receipt
from minga.federation.receipts import CHUNK, RECEIPT_TYPE, _now, _outgoing
from minga.federation.signing import (
    BATCH_FIELD,
    SIGNATURE_FIELD,
    SignatureRejected,
    verify_document,
)
from minga.intel.models import objects

log = logging.getLogger("minga.federation")

MAX_PER_REQUEST = 1000
FIELDS = {"type", "object", "modified", "state", "node", "fingerprint", "at"}
SIGNED_BY = {SIGNATURE_FIELD, BATCH_FIELD}  # a receipt carries one of them
_STIX_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,60}--[0-9a-fA-F-]{36}$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")

KeyFor = Callable[[str], bytes | None]


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
    if extra := sorted(set(doc) - FIELDS - SIGNED_BY):
        problems.append(f"unexpected fields: {', '.join(extra)[:200]}")
    if len(SIGNED_BY & set(doc)) != 1:
        problems.append(f"a receipt carries either {SIGNATURE_FIELD} or {BATCH_FIELD}")
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
class _Rows:
    """What one delivery writes, and the batch signatures it already checked."""

    kept: list[dict[str, Any]] = field(default_factory=list)
    forwarded: list[dict[str, Any]] = field(default_factory=list)
    verified: set[tuple[bytes, bytes]] = field(default_factory=set)


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
    rows = _Rows()
    for item in items:
        doc = item.get("receipt") if isinstance(item, dict) else None
        stix_id = doc.get("object") if isinstance(doc, dict) else None
        state = doc.get("state") if isinstance(doc, dict) else None
        try:
            outcome = _accept_one(session, sender, item, node, key_for, now, known, rows)
        except InvalidInput as exc:  # SignatureRejected is one
            log.warning("receipt from peer %s rejected: %s", sender.name, exc.message)
            outcome = Outcome(None, None, "rejected", exc.message)
        outcome.object = stix_id if isinstance(stix_id, str) else None
        outcome.state = state if state in STATES else None
        result.results.append(outcome)
    if rows.kept:  # one executemany each, not an ORM object per receipt
        session.execute(insert(Receipt), rows.kept)
    if rows.forwarded:
        session.execute(insert(OutgoingReceipt), rows.forwarded)
    return result


def _accept_one(
    session: Session,
    sender: PeerNode,
    item: Any,
    node: NodeIdentity,
    key_for: KeyFor,
    now: datetime,
    known: _Known,
    rows: _Rows,
) -> Outcome:
    doc, vouched = _checked(item)
    key, key_vouched = _signer_key(doc, vouched, key_for)
    verify_document(doc, key, rows.verified)
    stix_id, modified, state, fp = doc["object"], doc["modified"], doc["state"], doc["fingerprint"]
    if fp == node.fingerprint:
        raise InvalidInput("the receipt is this node's own")
    if stix_id in known.ours:
        if (stix_id, modified, state, fp) in known.held:
            return Outcome(stix_id, state, "duplicate")
        known.held.add((stix_id, modified, state, fp))
        rows.kept.append(
            {
                "stix_id": stix_id,
                "modified": modified,
                "state": state,
                "node_name": doc["node"],
                "fingerprint": fp,
                "signed_at": doc["at"],
                "received_at": now,
                "via_peer_id": sender.id,
                "key_vouched": key_vouched,
                "document": orjson.dumps(doc).decode(),
            }
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
    rows.forwarded.append(_outgoing(towards, doc, base64.b64encode(key).decode(), now))
    return Outcome(stix_id, state, "forwarded")
