"""Receiving object versions from a peer node: verify, check the creator, store, record arrival.

Each version must carry its origin node's signature (`signing.verify` against a pinned or
vouched key), and its `created_by_ref` must be an organisation of that origin node: identity
objects of the origin's organisations travel signed too and make (read-only, remote)
organisations here; an identity that is a local organisation's, or another node's, is spoofed.
A rejected version is logged and counted on the peer, and nothing of it is stored.

A stored version is owned by its remote organisation, keeps its origin and the signed raw
object (so it can be forwarded), counts one more hop, and gets the reach it arrives with
(`policy.arriving_reach`); its TLP is the one its signed markings say. Its `Arrival` row is
written in the same transaction. A version already held here is skipped, not an error.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from minga.errors import InvalidInput
from minga.federation.keys import NodeIdentity
from minga.federation.models import Arrival, PeerNode
from minga.federation.receive_orgs import Orgs, recipient_group
from minga.federation.serve import REACH_FIELD, RECIPIENTS_FIELD
from minga.federation.signing import EXTENSION_ID, Provenance, SignatureRejected, verify
from minga.intel.models import objects
from minga.intel.queries import CHUNK
from minga.intel.service import Provenance as StoreProvenance
from minga.intel.stix import ts_to_us, version_of
from minga.policy import Principal, Reach, Role, arriving_reach
from minga.taxii.service import store_tolerant

log = logging.getLogger("minga.federation")

KeyFor = Callable[[str], bytes | None]
VERIFY_THREADS = 2
PARALLEL_FROM = 200  # items in a batch from which checking is spread over threads
NodeFor = Callable[[str], str | None]


@dataclass(slots=True)
class Received:
    """What became of each item of a batch, by its index."""

    stored: list[int] = field(default_factory=list)
    existing: list[int] = field(default_factory=list)
    rejected: dict[int, str] = field(default_factory=dict)

    @property
    def unknown_keys(self) -> bool:
        return any("is not known here" in r for r in self.rejected.values())


@dataclass(frozen=True, slots=True)
class _Sender:
    """The sending peer's name and key fingerprint, as plain values for the checking threads."""

    name: str
    fingerprint: str


@dataclass(slots=True)
class Checked:
    index: int
    obj: dict[str, Any]
    prov: Provenance
    reach: Reach
    owner: int = 0
    recipients: tuple[str, ...] = ()


def receive(
    session: Session,
    peer: PeerNode,
    items: list[Any],
    *,
    key_for: KeyFor,
    node_for: NodeFor,
    me: NodeIdentity,
) -> Received:
    """Verify and store a batch of versions that `peer` sent (pushed, or answered a pull).

    `key_for(fingerprint)` is a trusted key; `node_for(fingerprint)` the node it is pinned or
    vouched for, the only origin a version signed with it may claim."""
    out = Received()
    # Versions held here already are skipped before their signature is checked: nothing of
    # them would be stored, and a push and a pull of the same peer overlap in a backfill, so
    # verifying them again (the receiver's largest cost) would double the work.
    keys = [_version_key(obj) for obj in items]
    held = _held(session, [k for k in keys if k is not None])
    unheld: list[tuple[int, Any]] = []
    for index, (obj, key) in enumerate(zip(items, keys, strict=True)):
        if key is not None and key in held:
            out.existing.append(index)
        else:
            unheld.append((index, obj))
    fresh: list[Checked] = []
    seen: set[tuple[str, str]] = set()
    sender = _Sender(peer.name, peer.fingerprint)
    for index, checked in _check_all(unheld, key_for, node_for, me, sender):
        if isinstance(checked, str):
            out.rejected[index] = checked
        elif checked is None or keys[index] in seen:  # ours back from a cycle, or a copy
            out.existing.append(index)
        else:
            seen.add((checked.obj["id"], version_of(checked.obj)))
            fresh.append(checked)
    # Identities first: they make the organisations the other versions name as creator.
    fresh.sort(key=lambda c: c.obj.get("type") != "identity")
    _store(session, peer, fresh, out)
    if out.rejected:
        log.warning(
            "federation: %d of %d versions from %s rejected (first: %s)",
            len(out.rejected),
            len(items),
            peer.name,
            next(iter(out.rejected.values())),
        )
    session.execute(
        update(PeerNode)
        .where(PeerNode.id == peer.id)
        .values(
            received=PeerNode.received + len(out.stored),
            rejected=PeerNode.rejected + len(out.rejected),
        )
    )
    return out


def _check_all(
    items: list[tuple[int, Any]],
    key_for: KeyFor,
    node_for: NodeFor,
    me: NodeIdentity,
    peer: _Sender,
) -> list[tuple[int, Checked | str | None]]:
    """`_check` of each item, or the reason it is refused. A large batch is checked in
    `VERIFY_THREADS` threads: the signature check (libsodium) runs without the GIL."""

    def check(part: list[tuple[int, Any]]) -> list[tuple[int, Checked | str | None]]:
        done: list[tuple[int, Checked | str | None]] = []
        for index, obj in part:
            try:
                done.append((index, _check(index, obj, key_for, node_for, me, peer)))
            except SignatureRejected as exc:
                done.append((index, exc.message))
        return done

    if len(items) < PARALLEL_FROM:
        return check(items)
    size = -(-len(items) // VERIFY_THREADS)
    parts = [items[i : i + size] for i in range(0, len(items), size)]
    return [r for part in _verifiers().map(check, parts) for r in part]


@cache
def _verifiers() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(VERIFY_THREADS, thread_name_prefix="minga-verify")


def _check(
    index: int, obj: Any, key_for: KeyFor, node_for: NodeFor, me: NodeIdentity, peer: _Sender
) -> Checked | None:
    if not isinstance(obj, dict) or not isinstance(obj.get("id"), str):
        raise SignatureRejected("each object must be a JSON object with an id")
    try:
        prov = verify(obj, key_for)
    except SignatureRejected:
        raise
    except InvalidInput as exc:  # not canonicalisable: cannot have been signed
        raise SignatureRejected(exc.message) from None
    if prov.origin_key == me.fingerprint:
        return None
    if node_for(prov.origin_key) != prov.origin_node:
        raise SignatureRejected(
            f"the key of node {node_for(prov.origin_key)!r} signed a version claiming to come"
            f" from {prov.origin_node!r}"
        )
    ext = obj["extensions"][EXTENSION_ID]
    try:
        sent = Reach(str(ext.get(REACH_FIELD, Reach.CONNECTED.value)))
    except ValueError:
        raise SignatureRejected(f"unknown reach {ext.get(REACH_FIELD)!r}") from None
    if sent is Reach.CONNECTED and prov.origin_key != peer.fingerprint:
        # The origin signed `connected`: one hop, so only the origin itself may deliver it.
        raise SignatureRejected(
            f"a version with reach 'connected' from {prov.origin_node!r} came through"
            f" {peer.name!r}: it may only travel one hop"
        )
    reach = arriving_reach(sent)
    if reach is None:
        raise SignatureRejected(f"a version with reach {sent.value!r} never leaves its node")
    recipients = ext.get(RECIPIENTS_FIELD) or []
    if not isinstance(recipients, list) or not all(isinstance(r, str) for r in recipients):
        raise SignatureRejected("the recipients of the version are malformed")
    return Checked(index, obj, prov, reach, recipients=tuple(recipients))


def _version_key(obj: Any) -> tuple[str, str] | None:
    """(id, version) of a well-formed item, else None (it is checked, and refused, one by one)."""
    if not isinstance(obj, dict) or not isinstance(obj.get("id"), str):
        return None
    try:
        version = version_of(obj)
        if version:
            ts_to_us(version)  # a malformed timestamp: checked (and refused) one by one
    except (TypeError, ValueError):
        return None
    return obj["id"], version


def _held(session: Session, keys: list[tuple[str, str]]) -> set[tuple[str, str]]:
    """Which of these versions (id, modified) this node already stores, whoever owns them."""
    wanted: dict[str, set[int]] = {}
    for sid, version in keys:
        wanted.setdefault(sid, set()).add(ts_to_us(version) if version else 0)
    ids = sorted(wanted)
    found: set[tuple[str, int]] = set()
    for start in range(0, len(ids), CHUNK):
        rows = session.execute(
            select(objects.c.stix_id, objects.c.modified_us).where(
                objects.c.stix_id.in_(ids[start : start + CHUNK])
            )
        )
        found.update((r.stix_id, r.modified_us) for r in rows)
    return {
        (sid, version)
        for sid, version in keys
        if (sid, ts_to_us(version) if version else 0) in found
    }


def _store(session: Session, peer: PeerNode, items: list[Checked], out: Received) -> None:
    orgs = Orgs(session, peer)
    batches: dict[tuple[int, Reach, int | None, str, int], list[Checked]] = {}
    for item in items:
        try:
            item.owner = orgs.owner_of(item)
        except SignatureRejected as exc:
            out.rejected[item.index] = exc.message
            continue
        group = recipient_group(session, orgs, item) if item.recipients else None
        key = (item.owner, item.reach, group, item.prov.origin_node, item.prov.hop_count)
        batches.setdefault(key, []).append(item)
        if item.obj.get("type") == "identity":
            _flush(session, peer, orgs, batches, out)  # its organisation now exists: store it
    _flush(session, peer, orgs, batches, out)


def _flush(
    session: Session,
    peer: PeerNode,
    orgs: Orgs,
    batches: dict[tuple[int, Reach, int | None, str, int], list[Checked]],
    out: Received,
) -> None:
    now = datetime.now(UTC)
    for (owner, reach, group, origin, hops), batch in batches.items():
        # Sync itself writes as the owning remote organisation (no account of it does: its
        # versions arrive only here, signed; `policy.LOCAL_ONLY` stops its accounts).
        principal = Principal(
            user_id=0, org_id=owner, role=Role.MACHINE, identity_ref=orgs.ref_of(owner)
        )
        result, failures = store_tolerant(
            session,
            principal,
            [c.obj for c in batch],
            reach=reach,
            group_ids=[group] if group is not None else [],
            provenance=StoreProvenance(
                source=f"federation:{peer.name}"[:200], origin_node=origin, hop_count=hops + 1
            ),
            enforce_creator=False,
        )
        created = set(result.created)
        arrivals = []
        for i, c in enumerate(batch):
            if i in failures:
                out.rejected[c.index] = failures[i]
            elif (c.obj["id"], version_of(c.obj)) in created:
                out.stored.append(c.index)
                arrivals.append(
                    {
                        "stix_id": c.obj["id"],
                        "modified": version_of(c.obj),
                        "revoked": bool(c.obj.get("revoked", False)),
                        "origin_node": origin,
                        "origin_key": c.prov.origin_key,
                        "hop_count": hops + 1,
                        "from_peer_id": peer.id,
                        "arrived_at": now,
                    }
                )
            else:
                out.existing.append(c.index)
        if arrivals:  # one executemany, not an ORM object per version
            session.execute(insert(Arrival), arrivals)
    batches.clear()
    session.flush()
