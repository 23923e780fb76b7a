"""Sharing groups: named lists of organisations, owned by one; services never commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from minga import audit
from minga.accounts.checks import require
from minga.accounts.models import GroupMember, Organisation, SharingGroup
from minga.errors import Conflict, InvalidInput, NotFound
from minga.policy import Action, Principal, Target, may


@dataclass(frozen=True, slots=True)
class GroupView:
    id: int
    name: str
    description: str
    owner_org_id: int
    member_org_ids: tuple[int, ...]


def _group_view(session: Session, group: SharingGroup) -> GroupView:
    members = session.scalars(
        select(GroupMember.org_id)
        .where(GroupMember.group_id == group.id)
        .order_by(GroupMember.org_id)
    )
    return GroupView(group.id, group.name, group.description, group.owner_org_id, tuple(members))


def create_group(
    session: Session,
    actor: Principal | None,
    *,
    name: str,
    description: str = "",
    owner_org_id: int,
    member_org_ids: list[int],
) -> GroupView:
    """A named list of organisations; the owner organisation is always a member."""
    if actor is not None:
        require(actor, Action.MANAGE_GROUPS, Target(org_id=owner_org_id))
    name = name.strip()
    if not name or len(name) > 200:
        raise InvalidInput("a sharing group needs a name of 1-200 characters")
    if session.scalar(select(SharingGroup.id).where(SharingGroup.name == name)) is not None:
        raise Conflict(f"a sharing group named {name!r} already exists")
    members = sorted({owner_org_id, *member_org_ids})
    found = session.scalar(select(func.count()).where(Organisation.id.in_(members)))
    if found != len(members):
        raise InvalidInput("every member of a sharing group must be an existing organisation")
    group = SharingGroup(
        name=name, description=description, owner_org_id=owner_org_id, created_at=datetime.now(UTC)
    )
    session.add(group)
    session.flush()
    session.add_all(GroupMember(group_id=group.id, org_id=m) for m in members)
    session.flush()
    audit.record(session, actor, "group.create", "group", group.id, name=name, members=members)
    return _group_view(session, group)


def group_target(session: Session, group_id: int) -> tuple[SharingGroup, Target]:
    """A sharing group and the facts the policy needs: its owner and its members."""
    group = session.get(SharingGroup, group_id)
    if group is None:
        raise NotFound(f"no sharing group with id {group_id}")
    members = frozenset(
        session.scalars(select(GroupMember.org_id).where(GroupMember.group_id == group_id))
    )
    return group, Target(org_id=group.owner_org_id, member_org_ids=members)


def set_group_members(
    session: Session, actor: Principal | None, group_id: int, member_org_ids: list[int]
) -> GroupView:
    """Replace the members (the owner's admins and coordinators only); the change is audited
    with who was added and who was removed."""
    group, target = group_target(session, group_id)
    if actor is not None:
        require(actor, Action.MANAGE_GROUPS, target)
    members = sorted({group.owner_org_id, *member_org_ids})
    found = session.scalar(select(func.count()).where(Organisation.id.in_(members)))
    if found != len(members):
        raise InvalidInput("every member of a sharing group must be an existing organisation")
    _replace_members(session, group_id, members)
    audit.record(
        session,
        actor,
        "group.members",
        "group",
        group_id,
        members=members,
        added=sorted(set(members) - target.member_org_ids),
        removed=sorted(target.member_org_ids - set(members)),
    )
    return _group_view(session, group)


def leave_group(session: Session, actor: Principal, group_id: int) -> GroupView:
    """The actor's organisation leaves a group it belongs to but does not own."""
    group, target = group_target(session, group_id)
    require(actor, Action.LEAVE_GROUP, target)
    _replace_members(session, group_id, sorted(target.member_org_ids - {actor.org_id}))
    audit.record(
        session, actor, "group.leave", "group", group_id, subject_org_id=group.owner_org_id
    )
    return _group_view(session, group)


def _replace_members(session: Session, group_id: int, members: list[int]) -> None:
    session.execute(delete(GroupMember).where(GroupMember.group_id == group_id))
    session.add_all(GroupMember(group_id=group_id, org_id=m) for m in members)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict("the sharing group changed while it was being edited") from None


def list_groups(session: Session) -> list[GroupView]:
    groups = session.scalars(select(SharingGroup).order_by(SharingGroup.name))
    return [_group_view(session, g) for g in groups]


def groups_to_share_with(session: Session, principal: Principal) -> list[GroupView]:
    """The sharing groups `principal` may mark objects for: those its organisation belongs to
    (the same rule the store applies to a write, `Action.SHARE_WITH_GROUP`)."""
    return [
        g
        for g in list_groups(session)
        if may(
            principal,
            Action.SHARE_WITH_GROUP,
            Target(org_id=None, member_org_ids=frozenset(g.member_org_ids)),
        )
    ]


def groups_by_name(session: Session, names: list[str]) -> dict[str, int]:
    rows = session.execute(
        select(SharingGroup.name, SharingGroup.id).where(SharingGroup.name.in_(names))
    )
    return {name: gid for name, gid in rows}
