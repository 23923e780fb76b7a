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

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from minga.accounts.models import GroupMember, Organisation, SharingGroup
from minga.accounts.node import operator_org_id
from minga.errors import InvalidInput
from minga.federation.keys import NodeIdentity
from minga.federation.models import Arrival, PeerNode
from minga.federation.remote import ensure_remote_organisation
from minga.federation.serve import REACH_FIELD, RECIPIENTS_FIELD
from minga.federation.signing import EXTENSION_ID, Provenance, SignatureRejected, verify
from minga.intel.models import objects
from minga.intel.queries import CHUNK
from minga.intel.service import Provenance as StoreProvenance
from minga.intel.stix import SCO_TYPES, ts_to_us, version_of
from minga.policy import Principal, Reach, Role, arriving_reach
from minga.taxii.service import store_tolerant

log = logging.getLogger("minga.federation")

KeyFor = Callable[[str], bytes | None]
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


@dataclass(slots=True)
class _Checked:
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
    held = _held(session, [k for obj in items if (k := _version_key(obj)) is not None])
    fresh: list[_Checked] = []
    seen: set[tuple[str, str]] = set()
    for index, obj in enumerate(items):
        key = _version_key(obj)
        if key is not None and (key in held or key in seen):
            out.existing.append(index)
            continue
        try:
            item = _check(index, obj, key_for, node_for, me, peer)
        except SignatureRejected as exc:
            out.rejected[index] = exc.message
            continue
        if item is None:  # this node's own version, back from a cycle
            out.existing.append(index)
            continue
        seen.add((item.obj["id"], version_of(item.obj)))
        fresh.append(item)
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


def _check(
    index: int, obj: Any, key_for: KeyFor, node_for: NodeFor, me: NodeIdentity, peer: PeerNode
) -> _Checked | None:
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
    return _Checked(index, obj, prov, reach, recipients=tuple(recipients))


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


def _store(session: Session, peer: PeerNode, items: list[_Checked], out: Received) -> None:
    orgs = _Orgs(session, peer)
    batches: dict[tuple[int, Reach, int | None, str, int], list[_Checked]] = {}
    for item in items:
        try:
            item.owner = orgs.owner_of(item)
        except SignatureRejected as exc:
            out.rejected[item.index] = exc.message
            continue
        group = _recipient_group(session, orgs, item) if item.recipients else None
        key = (item.owner, item.reach, group, item.prov.origin_node, item.prov.hop_count)
        batches.setdefault(key, []).append(item)
        if item.obj.get("type") == "identity":
            _flush(session, peer, orgs, batches, out)  # its organisation now exists: store it
    _flush(session, peer, orgs, batches, out)


def _flush(
    session: Session,
    peer: PeerNode,
    orgs: _Orgs,
    batches: dict[tuple[int, Reach, int | None, str, int], list[_Checked]],
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


class _Orgs:
    """Organisations by identity ref, made on demand for identities of the origin node."""

    def __init__(self, session: Session, peer: PeerNode) -> None:
        self.session, self.peer = session, peer
        self.by_ref: dict[str, Organisation] = {}
        self.by_id: dict[int, Organisation] = {}

    def find(self, ref: str) -> Organisation | None:
        if ref not in self.by_ref:
            org = self.session.scalar(select(Organisation).where(Organisation.identity_ref == ref))
            if org is None:
                return None
            self.by_ref[ref] = org
            self.by_id[org.id] = org
        return self.by_ref[ref]

    def ref_of(self, org_id: int) -> str:
        org = self.by_id.get(org_id) or self.session.get(Organisation, org_id)
        assert org is not None
        self.by_id[org_id] = org
        return org.identity_ref

    def owner_of(self, item: _Checked) -> int:
        """The organisation of the origin node that owns the version (spoofs are refused)."""
        origin, obj = item.prov.origin_node, item.obj
        creator = obj.get("created_by_ref")
        if obj.get("type") == "identity":
            org = self.find(obj["id"])
            if org is None:
                org = self._make(obj, origin)
            self._of_origin(org, obj["id"], origin)
            if creator is not None and creator != obj["id"]:
                self._owned(creator, origin)
            return org.id
        if isinstance(creator, str):
            return self._owned(creator, origin)
        if obj.get("type") in SCO_TYPES or creator is None:
            return self._node_org(origin)
        raise SignatureRejected("created_by_ref must be an identity id")

    def _owned(self, ref: str, origin: str) -> int:
        org = self.find(ref)
        if org is None:
            raise SignatureRejected(
                f"created_by_ref {ref} is no organisation of node {origin!r} known here"
            )
        self._of_origin(org, ref, origin)
        return org.id

    @staticmethod
    def _of_origin(org: Organisation, ref: str, origin: str) -> None:
        if org.remote_node != origin:
            where = "this node" if org.remote_node is None else f"node {org.remote_node!r}"
            raise SignatureRejected(
                f"spoofed creator: {ref} is an organisation of {where}, not of {origin!r}"
            )

    def _node_org(self, origin: str) -> int:
        """Owner of versions without a creator (observables): the origin node's organisation."""
        if origin == self.peer.name:
            return self.peer.org_id
        org_id = self.session.scalar(
            select(Organisation.id)
            .where(Organisation.remote_node == origin)
            .order_by(Organisation.id)
            .limit(1)
        )
        if org_id is None:
            raise SignatureRejected(f"no organisation of node {origin!r} is known here")
        return int(org_id)

    def _make(self, identity: dict[str, Any], origin: str) -> Organisation:
        sectors = identity.get("sectors")
        org = ensure_remote_organisation(
            self.session,
            node=origin,
            identity_ref=identity["id"],
            name=str(identity.get("name") or identity["id"])[:200],
            country=str(identity.get("x_minga_country") or ""),
            sector=str(sectors[0]) if isinstance(sectors, list) and sectors else None,
        )
        self.by_ref[org.identity_ref] = org
        self.by_id[org.id] = org
        return org


def _recipient_group(session: Session, orgs: _Orgs, item: _Checked) -> int:
    """The local sharing group standing for the named recipients of a version: the owner and
    the organisations of this node it names (none named: the node operator's, for the node)."""
    named = set(
        session.scalars(
            select(Organisation.id).where(
                Organisation.identity_ref.in_(sorted(item.recipients)),
                Organisation.remote_node.is_(None),
            )
        )
    )
    if not named:
        operator = operator_org_id(session)
        named = {operator} if operator is not None else set()
    members = sorted(named | {item.owner})
    digest = hashlib.sha256(",".join(map(str, members)).encode()).hexdigest()[:12]
    name = f"federation: {item.prov.origin_node} → {digest}"[:200]
    found = session.scalar(select(SharingGroup.id).where(SharingGroup.name == name))
    if found is not None:
        return int(found)
    group = SharingGroup(
        name=name,
        description=f"Named recipients of versions shared by node {item.prov.origin_node}",
        owner_org_id=item.owner,
        created_at=datetime.now(UTC),
    )
    session.add(group)
    session.flush()
    session.add_all(GroupMember(group_id=group.id, org_id=m) for m in members)
    session.flush()
    return group.id
