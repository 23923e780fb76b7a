"""The one access policy: who may see which object, which node may receive it, who may do what.

Every read path (REST, TAXII, UI, search, exports, sync) asks this module; nothing else decides
visibility. The pure functions and the SQL filter state the same rule and a property test keeps
them in step.

Rule for a principal P (a user of organisation `P.org_id`) and an object version O:
1. The owning organisation always sees its own objects.
2. reach `organisation` means nobody else.
3. If O names sharing groups, exactly the member organisations of those groups see it.
4. Otherwise every organisation of the node sees it, unless its TLP is AMBER+STRICT or RED: those
   travel only to named recipients (a sharing group), never to the community at large.
No role bypasses this: a node admin manages accounts, not other organisations' intelligence.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, and_, exists, false, or_, select, true

if TYPE_CHECKING:
    from sqlalchemy import Table


class Tlp(StrEnum):
    CLEAR = "clear"
    GREEN = "green"
    AMBER = "amber"
    AMBER_STRICT = "amber+strict"
    RED = "red"


TLP_RANK = {Tlp.CLEAR: 0, Tlp.GREEN: 1, Tlp.AMBER: 2, Tlp.AMBER_STRICT: 3, Tlp.RED: 4}
# Levels that only ever go to named recipients (sharing groups), never to a whole community.
NAMED_ONLY = frozenset({Tlp.AMBER_STRICT, Tlp.RED})


class Reach(StrEnum):
    """How far the platform carries an object."""

    ORGANISATION = "organisation"
    COMMUNITY = "community"
    CONNECTED = "connected"
    FEDERATION = "federation"


REACH_RANK = {Reach.ORGANISATION: 0, Reach.COMMUNITY: 1, Reach.CONNECTED: 2, Reach.FEDERATION: 3}


class Role(StrEnum):
    ADMIN = "admin"
    COORDINATOR = "coordinator"
    ANALYST = "analyst"
    READER = "reader"
    MACHINE = "machine"


class Action(StrEnum):
    READ = "read"
    PUBLISH = "publish"  # create objects, new versions, revoke own objects
    MANAGE_ORGS = "manage-orgs"
    MANAGE_USERS = "manage-users"
    MANAGE_GROUPS = "manage-groups"
    READ_AUDIT = "read-audit"


ALLOWED: dict[Role, frozenset[Action]] = {
    Role.ADMIN: frozenset(Action),
    Role.COORDINATOR: frozenset(
        {Action.READ, Action.PUBLISH, Action.MANAGE_ORGS, Action.MANAGE_GROUPS, Action.READ_AUDIT}
    ),
    Role.ANALYST: frozenset({Action.READ, Action.PUBLISH}),
    Role.READER: frozenset({Action.READ}),
    Role.MACHINE: frozenset({Action.READ, Action.PUBLISH}),
}


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is asking: a user (or machine account) acting for one organisation."""

    user_id: int
    org_id: int
    role: Role
    identity_ref: str
    group_ids: frozenset[int] = field(default_factory=frozenset)
    user_name: str = ""


@dataclass(frozen=True, slots=True)
class Marking:
    """The facts of one object version that decide who sees it."""

    owner_org_id: int
    tlp: Tlp
    reach: Reach
    group_ids: frozenset[int] = frozenset()


@dataclass(frozen=True, slots=True)
class Peer:
    """A federated node asking to receive objects."""

    node_name: str
    group_ids: frozenset[int] = frozenset()


def may(principal: Principal, action: Action) -> bool:
    return action in ALLOWED[principal.role]


def may_see(principal: Principal, marking: Marking) -> bool:
    if marking.owner_org_id == principal.org_id:
        return True
    if marking.reach is Reach.ORGANISATION:
        return False
    if marking.group_ids:
        return not marking.group_ids.isdisjoint(principal.group_ids)
    return marking.tlp not in NAMED_ONLY


def may_node_receive(
    peer: Peer, marking: Marking, *, origin_node: str | None, hop_count: int
) -> bool:
    """May this object travel to `peer`? Never back to its origin, never past its reach."""
    if origin_node is not None and origin_node == peer.node_name:
        return False
    if marking.reach in (Reach.ORGANISATION, Reach.COMMUNITY):
        return False
    if marking.reach is Reach.CONNECTED and hop_count > 0:
        return False
    if marking.group_ids:
        return not marking.group_ids.isdisjoint(peer.group_ids)
    return marking.tlp not in NAMED_ONLY


def may_change_tlp(old: Tlp, new: Tlp, *, is_owner: bool) -> bool:
    """TLP may only be lowered by the owner (and never by sync, which is never the owner)."""
    return is_owner or TLP_RANK[new] >= TLP_RANK[old]


def visible_filter(principal: Principal, objects: Table | Any, object_groups: Table | Any) -> Any:
    """SQL WHERE clause equal to `may_see` for rows of `objects` (an intel objects table)."""
    in_my_groups: ColumnElement[bool]
    if principal.group_ids:
        in_my_groups = exists(
            select(object_groups.c.object_pk).where(
                object_groups.c.object_pk == objects.c.pk,
                object_groups.c.group_id.in_(sorted(principal.group_ids)),
            )
        )
    else:
        in_my_groups = false()
    shared = and_(
        objects.c.reach != Reach.ORGANISATION.value,
        or_(
            and_(objects.c.has_groups == true(), in_my_groups),
            and_(
                objects.c.has_groups == false(),
                objects.c.tlp.not_in([t.value for t in NAMED_ONLY]),
            ),
        ),
    )
    return or_(objects.c.owner_org_id == principal.org_id, shared)
