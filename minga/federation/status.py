"""How a peer is doing: last contact, cursors, backlog, errors and counters.

The backlog is the number of stored versions past the peer's push position that the policy
(`may_node_receive`) lets it receive and that did not come from it: what push still owes it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import Session

from minga.accounts.checks import require
from minga.accounts.models import GroupMember, Organisation
from minga.federation.models import Arrival, KnownKey, PeerNode
from minga.federation.peers import get_peer, list_peers
from minga.intel.models import object_groups, objects
from minga.policy import Action, Marking, Peer, Principal, Reach, Tlp, may_node_receive

PUSHING = ("push", "both")


@dataclass(frozen=True, slots=True)
class PeerStatus:
    name: str
    url: str
    direction: str
    fingerprint: str
    pinned: bool
    token_env: str
    organisation: str
    created_at: datetime
    last_contact_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    pull_cursor: str | None
    push_position: int
    backlog: int | None  # None: this node does not push to the peer
    sent: int
    received: int
    rejected: int
    vouched_keys: int


def policy_peer(session: Session, peer: PeerNode) -> Peer:
    """The peer as the policy sees it: its node name and its organisation's sharing groups."""
    groups = session.scalars(select(GroupMember.group_id).where(GroupMember.org_id == peer.org_id))
    return Peer(node_name=peer.name, group_ids=frozenset(groups))


def backlog(session: Session, peer: PeerNode) -> int:
    """Versions past `push_position` the policy lets `peer` receive, not received from it."""
    asking = policy_peer(session, peer)
    from_peer = exists(
        select(Arrival.id).where(
            and_(
                Arrival.from_peer_id == peer.id,
                Arrival.stix_id == objects.c.stix_id,
                Arrival.modified == objects.c.modified,
            )
        )
    )
    rows = session.execute(
        select(
            objects.c.pk,
            objects.c.owner_org_id,
            objects.c.tlp,
            objects.c.reach,
            objects.c.has_groups,
            objects.c.origin_node,
            objects.c.hop_count,
        ).where(
            objects.c.added_us > peer.push_position,
            # Only a narrowing: the policy below decides.
            objects.c.reach.in_([Reach.CONNECTED.value, Reach.FEDERATION.value]),
            ~from_peer,
        )
    ).all()
    grouped = [r.pk for r in rows if r.has_groups]
    groups: dict[int, set[int]] = defaultdict(set)
    for start in range(0, len(grouped), 1000):
        chunk = grouped[start : start + 1000]
        for pk, gid in session.execute(
            select(object_groups.c.object_pk, object_groups.c.group_id).where(
                object_groups.c.object_pk.in_(chunk)
            )
        ):
            groups[pk].add(gid)
    return sum(
        1
        for r in rows
        if may_node_receive(
            asking,
            Marking(r.owner_org_id, Tlp(r.tlp), Reach(r.reach), frozenset(groups.get(r.pk, ()))),
            origin_node=r.origin_node,
            hop_count=r.hop_count,
        )
    )


def peer_status(session: Session, peer: PeerNode) -> PeerStatus:
    org = session.get(Organisation, peer.org_id)
    vouched = session.scalar(
        select(func.count()).select_from(KnownKey).where(KnownKey.vouched_by_peer_id == peer.id)
    )
    return PeerStatus(
        name=peer.name,
        url=peer.url,
        direction=peer.direction,
        fingerprint=peer.fingerprint,
        pinned=peer.public_key is not None,
        token_env=peer.token_env,
        organisation=org.name if org else "",
        created_at=peer.created_at,
        last_contact_at=peer.last_contact_at,
        last_error=peer.last_error,
        last_error_at=peer.last_error_at,
        pull_cursor=peer.pull_cursor,
        push_position=peer.push_position,
        backlog=backlog(session, peer) if peer.direction in PUSHING else None,
        sent=peer.sent,
        received=peer.received,
        rejected=peer.rejected,
        vouched_keys=vouched or 0,
    )


def statuses(
    session: Session, actor: Principal | None, name: str | None = None
) -> list[PeerStatus]:
    """The status of every peer, or of the one named (`actor` None: the node's command line)."""
    if actor is not None:
        require(actor, Action.MANAGE_PEERS)
    chosen = [get_peer(session, name)] if name is not None else list_peers(session)
    return [peer_status(session, p) for p in chosen]
