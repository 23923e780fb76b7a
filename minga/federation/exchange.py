"""The federation collection as a peer node sees it: what the TAXII adapter asks when the
caller is a peer's machine account (pushing versions to this node, or pulling from it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from minga.errors import InvalidInput
from minga.federation import backlog, contact, peers, signatures
from minga.federation.collection import is_federation_collection
from minga.federation.keys import NodeIdentity, node_identity
from minga.federation.models import PeerNode
from minga.federation.receive import Received, receive
from minga.federation.serve import Outgoing, select_for_peer
from minga.policy import Principal, Role
from minga.settings import Settings
from minga.taxii.models import AddStatus, Collection
from minga.taxii.service import record_status


def me(session: Session, settings: Settings) -> NodeIdentity:
    return node_identity(session, name=settings.node_name, url="")


def peer_reading(session: Session, principal: Principal, collection: Collection) -> PeerNode | None:
    """The peer node whose machine account asks, when it asks the federation collection."""
    if principal.role is not Role.MACHINE or not is_federation_collection(session, collection):
        return None
    return peers.peer_for_user(session, principal.user_id)


def receive_envelope(
    session: Session, settings: Settings, peer: PeerNode, principal: Principal, envelope: Any
) -> tuple[AddStatus, Received]:
    """Store a pushed envelope; the status names every version kept or refused (and why)."""
    if not isinstance(envelope, dict) or not isinstance(envelope.get("objects"), list):
        raise InvalidInput('send a TAXII envelope: {"objects": [ ...STIX objects... ]}')
    items: list[Any] = envelope["objects"]
    contact.seen(peer)
    contact.refresh_for(session, peer, items)
    result = receive(
        session,
        peer,
        items,
        key_for=peers.key_for(session),
        node_for=peers.node_for_key(session),
        me=me(session, settings),
    )
    peers.record_contact(session, peer)
    succeeded = result.stored + result.existing
    return record_status(session, principal, items, succeeded, result.rejected), result


@dataclass(frozen=True, slots=True)
class ServedPage:
    objects: list[dict[str, Any]]
    more: bool
    last_us: int  # the position this page covers: where the next page starts


def serve_page(
    session: Session, settings: Settings, peer: PeerNode, *, after_us: int | None, limit: int
) -> ServedPage:
    """The next versions the peer may receive, past `after_us`, oldest first."""
    contact.seen(peer)
    found: Outgoing = select_for_peer(
        session, peer, me(session, settings), after_us=after_us or 0, limit=limit
    )
    signatures.keep_apart(session, found.signed)
    backlog.note(session, peer.id, after_us or 0, found.more)  # push stands aside meanwhile
    return ServedPage(found.objects, found.more, found.last_us)
