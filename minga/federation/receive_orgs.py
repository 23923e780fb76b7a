"""Who owns a received version here: the (read-only, remote) organisations of its origin node,
made on demand from the identities the origin signs, spoofed creators refused; and the local
sharing group standing for the named recipients of a version."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from minga.accounts.models import GroupMember, Organisation, SharingGroup
from minga.accounts.node import operator_org_id
from minga.federation.models import PeerNode
from minga.federation.remote import ensure_remote_organisation
from minga.federation.signing import SignatureRejected
from minga.intel.stix import SCO_TYPES

if TYPE_CHECKING:
    from minga.federation.receive import Checked


class Orgs:
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

    def owner_of(self, item: Checked) -> int:
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


def recipient_group(session: Session, orgs: Orgs, item: Checked) -> int:
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
