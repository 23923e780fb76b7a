"""Which stored versions go to a peer node, in position order, ready to send.

Push (to the peer's collection) and serving the federation collection (to the peer's pull) ask
the same function: the versions past a position that `policy.may_forward` lets the peer
receive. A version made here leaves signed by this node (hop count 0), signed once and the
signature kept (`minga.federation.signatures`); one that arrived from another node keeps its
origin's signature, as it came, with the hop count it was stored with. Besides the
signed provenance, the origin signs the version's reach (so `connected` stops after its hop)
and, for a version shared with sharing groups, the identities of their member organisations
(so the receiving node knows which of its organisations were named): a forwarding node cannot
widen either.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from minga.accounts.models import GroupMember, Organisation
from minga.federation import signatures
from minga.federation.keys import NodeIdentity
from minga.federation.models import Arrival, PeerNode
from minga.federation.signing import (
    provenance_of,
    sign,
    signature_of,
    signed_with,
    with_hop_count,
)
from minga.intel.models import object_groups, objects
from minga.intel.queries import CHUNK
from minga.policy import Marking, Peer, Reach, Tlp, may_forward, may_travel_as_exercise

SCAN_ROWS = 2000  # rows read per round while looking for versions a peer may receive
REACH_FIELD = "reach"
RECIPIENTS_FIELD = "recipients"

_COLUMNS = (
    objects.c.pk,
    objects.c.stix_id,
    objects.c.modified,
    objects.c.added_us,
    objects.c.owner_org_id,
    objects.c.tlp,
    objects.c.reach,
    objects.c.has_groups,
    objects.c.hop_count,
    objects.c.origin_node,
    objects.c.raw,
)


@dataclass(slots=True)
class Outgoing:
    """Versions for one peer: `objects` to send, and the position `last_us` they cover (every
    row up to it was looked at, sent or not); `more` when rows past it remain."""

    objects: list[dict[str, Any]] = field(default_factory=list)
    last_us: int = 0
    more: bool = False
    scanned: int = 0
    signed: list[dict[str, Any]] = field(default_factory=list)  # to keep (`signatures.keep`)


@dataclass(frozen=True, slots=True)
class Orgs:
    """The organisations of this node's store: which are remote (of which node), their refs."""

    remote_node: dict[int, str | None]
    identity_ref: dict[int, str]

    @classmethod
    def load(cls, session: Session) -> Orgs:
        rows = session.execute(
            select(Organisation.id, Organisation.remote_node, Organisation.identity_ref)
        ).all()
        return cls({r.id: r.remote_node for r in rows}, {r.id: r.identity_ref for r in rows})


def peer_for_policy(session: Session, peer: PeerNode) -> Peer:
    """The policy's view of a peer node: its name and the sharing groups naming it (its own
    organisation here, or any organisation of that node)."""
    node_orgs = select(Organisation.id).where(Organisation.remote_node == peer.name)
    groups = session.scalars(
        select(GroupMember.group_id).where(
            (GroupMember.org_id == peer.org_id) | GroupMember.org_id.in_(node_orgs)
        )
    )
    return Peer(node_name=peer.name, group_ids=frozenset(groups))


def select_for_peer(
    session: Session,
    peer: PeerNode,
    me: NodeIdentity,
    *,
    after_us: int,
    limit: int,
    max_scan: int | None = None,
) -> Outgoing:
    """Up to `limit` versions past position `after_us` the peer may receive, ready to send."""
    policy_peer = peer_for_policy(session, peer)
    orgs = Orgs.load(session)
    out = Outgoing(last_us=after_us)
    budget = max_scan if max_scan is not None else max(limit * 50, SCAN_ROWS)
    while out.scanned < budget:
        rows = session.execute(
            select(*_COLUMNS)
            .where(objects.c.added_us > out.last_us)
            .order_by(objects.c.added_us, objects.c.pk)
            .limit(SCAN_ROWS)
        ).all()
        if not rows:
            out.more = False
            return out
        groups, members = _groups(session, [r.pk for r in rows if r.has_groups])
        held = _held_by(session, peer.id, {r.stix_id for r in rows})
        kept = signatures.kept_for(session, [r.pk for r in rows if r.origin_node is None])
        for row in rows:
            out.scanned += 1
            out.last_us = row.added_us
            group_ids = groups.get(row.pk, frozenset())
            refs = {orgs.identity_ref.get(o) for g in group_ids for o in members.get(g, ())}
            recipients = sorted(r for r in refs if r) if group_ids else None
            sent = _outgoing(row, me, orgs, policy_peer, group_ids, held, recipients, kept, out)
            if sent is not None:
                out.objects.append(sent)
                if len(out.objects) >= limit:
                    out.more = True
                    return out
        if len(rows) < SCAN_ROWS:
            out.more = False
            return out
    out.more = True
    return out


def _outgoing(
    row: Any,
    me: NodeIdentity,
    orgs: Orgs,
    peer: Peer,
    group_ids: frozenset[int],
    held: set[tuple[str, str]],
    recipients: list[str] | None,
    kept: dict[int, signatures.Kept],
    out: Outgoing,
) -> dict[str, Any] | None:
    if (row.stix_id, row.modified) in held:  # it came from the peer: not parsed to be refused
        marking = Marking(row.owner_org_id, Tlp(row.tlp), Reach(row.reach), group_ids)
        if not may_forward(
            peer, marking, origin_node=row.origin_node, hop_count=row.hop_count, held_by_peer=True
        ):
            return None
    obj = orjson.loads(row.raw)
    if not may_travel_as_exercise(obj):
        return None  # an exercise that is not federated stays on its node
    try:
        prov = provenance_of(obj)
    except Exception:  # a malformed extension stored by a local writer: not ours to forward
        return None
    if prov is None and orgs.remote_node.get(row.owner_org_id) is not None:
        return None  # a remote organisation's local record (its identity stub), made here
    if prov is not None and prov.origin_node == me.name:
        return None  # our own version that came back: never stored, never sent
    marking = Marking(row.owner_org_id, Tlp(row.tlp), Reach(row.reach), group_ids)
    if not may_forward(
        peer,
        marking,
        origin_node=prov.origin_node if prov else None,
        hop_count=row.hop_count if prov else 0,
        held_by_peer=(row.stix_id, row.modified) in held,
    ):
        return None
    if prov is not None:  # forwarded: the origin's signed reach and recipients travel on
        return with_hop_count(obj, row.hop_count)
    terms: dict[str, Any] = {REACH_FIELD: row.reach}
    if recipients is not None:
        terms[RECIPIENTS_FIELD] = recipients
    text = signatures.terms_text(terms, me.name)
    found = kept.get(row.pk)
    if found is not None and found.origin_key == me.fingerprint and found.terms == text:
        return signed_with(obj, me, found.signature, hop_count=0, terms=terms)
    signed = sign(obj, me, hop_count=0, terms=terms)
    made = {"origin_key": me.fingerprint, "terms": text, "signature": signature_of(signed)}
    out.signed.append({"object_pk": row.pk, **made})
    kept[row.pk] = signatures.Kept(**made)  # the same version twice in one page
    return signed


def _groups(
    session: Session, pks: list[int]
) -> tuple[dict[int, frozenset[int]], dict[int, frozenset[int]]]:
    """The sharing groups of the versions `pks`, and (for recipients) the groups' members."""
    found: dict[int, set[int]] = {}
    for start in range(0, len(pks), CHUNK):
        chunk = pks[start : start + CHUNK]
        for pk, gid in session.execute(
            select(object_groups.c.object_pk, object_groups.c.group_id).where(
                object_groups.c.object_pk.in_(chunk)
            )
        ):
            found.setdefault(pk, set()).add(gid)
    wanted = {g for gs in found.values() for g in gs}
    members: dict[int, set[int]] = {}
    if wanted:
        rows = session.execute(
            select(GroupMember.group_id, GroupMember.org_id).where(
                GroupMember.group_id.in_(sorted(wanted))
            )
        )
        for gid, org_id in rows:
            members.setdefault(gid, set()).add(org_id)
    return (
        {pk: frozenset(gs) for pk, gs in found.items()},
        {g: frozenset(m) for g, m in members.items()},
    )


def _held_by(session: Session, peer_id: int, ids: Iterable[str]) -> set[tuple[str, str]]:
    """The versions (id, modified) of `ids` that arrived here from the peer: it holds them."""
    wanted = sorted(ids)
    held: set[tuple[str, str]] = set()
    for start in range(0, len(wanted), CHUNK):
        rows = session.execute(
            select(Arrival.stix_id, Arrival.modified).where(
                Arrival.from_peer_id == peer_id, Arrival.stix_id.in_(wanted[start : start + CHUNK])
            )
        )
        held.update((r.stix_id, r.modified) for r in rows)
    return held
