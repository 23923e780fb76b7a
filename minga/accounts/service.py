"""Organisations, users, tokens and sharing groups. Services take a session and never commit."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from minga import audit
from minga.accounts.models import ApiToken, GroupMember, Organisation, SharingGroup, User
from minga.accounts.tokens import IssuedToken, new_token
from minga.errors import Conflict, Forbidden, InvalidInput, NotFound
from minga.policy import Action, Principal, Role, may

__all__ = ["may"]

ORG_KINDS = ("government", "csirt", "private", "academia", "civil-society")
COUNTRY_RE = re.compile(r"^[A-Z]{2}$")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{1,119}$")


def require(principal: Principal, action: Action) -> None:
    if not may(principal, action):
        raise Forbidden(
            f"the role {principal.role.value!r} may not {action.value.replace('-', ' ')}"
        )


def principal_for(session: Session, user: User) -> Principal:
    org = session.get(Organisation, user.org_id)
    assert org is not None  # foreign key
    groups = session.scalars(select(GroupMember.group_id).where(GroupMember.org_id == org.id))
    return Principal(
        user_id=user.id,
        org_id=org.id,
        role=Role(user.role),
        identity_ref=org.identity_ref,
        group_ids=frozenset(groups),
        user_name=user.name,
    )


# -- organisations -------------------------------------------------------------------------


def create_organisation(
    session: Session,
    actor: Principal | None,
    *,
    name: str,
    country: str,
    sector: str,
    kind: str,
    description: str = "",
    identity_ref: str | None = None,
) -> Organisation:
    """A member organisation and its STIX identity (stored as a TLP:CLEAR community object)."""
    if actor is not None:
        require(actor, Action.MANAGE_ORGS)
    name = name.strip()
    country = country.strip().upper()
    if not name or len(name) > 200:
        raise InvalidInput("an organisation needs a name of 1-200 characters")
    if not COUNTRY_RE.match(country):
        raise InvalidInput("country must be an ISO 3166-1 alpha-2 code such as CR or MX")
    if kind not in ORG_KINDS:
        raise InvalidInput(f"kind must be one of: {', '.join(ORG_KINDS)}")
    if not sector.strip():
        raise InvalidInput("sector must not be empty")
    if session.scalar(select(Organisation.id).where(Organisation.name == name)) is not None:
        raise Conflict(f"an organisation named {name!r} already exists")
    org = Organisation(
        name=name,
        country=country,
        sector=sector.strip().lower(),
        kind=kind,
        description=description,
        identity_ref=identity_ref or f"identity--{uuid.uuid4()}",
        created_at=datetime.now(UTC),
    )
    session.add(org)
    session.flush()
    from minga.intel.service import store_identity  # intel depends on accounts, not the reverse

    store_identity(session, org)
    audit.record(session, actor, "organisation.create", "organisation", org.id, name=name)
    return org


def list_organisations(session: Session) -> list[Organisation]:
    return list(session.scalars(select(Organisation).order_by(Organisation.name)))


def get_organisation(session: Session, org_id: int) -> Organisation:
    org = session.get(Organisation, org_id)
    if org is None:
        raise NotFound(f"no organisation with id {org_id}")
    return org


# -- users ---------------------------------------------------------------------------------


def create_user(
    session: Session, actor: Principal | None, *, org_id: int, name: str, role: str
) -> User:
    if actor is not None:
        require(actor, Action.MANAGE_USERS)
    get_organisation(session, org_id)
    if not NAME_RE.match(name):
        raise InvalidInput("a user name is 2-120 characters of letters, digits and . _ @ -")
    try:
        role_value = Role(role)
    except ValueError:
        raise InvalidInput(f"role must be one of: {', '.join(r.value for r in Role)}") from None
    if session.scalar(select(User.id).where(User.name == name)) is not None:
        raise Conflict(f"a user named {name!r} already exists")
    user = User(
        org_id=org_id, name=name, role=role_value.value, active=True, created_at=datetime.now(UTC)
    )
    session.add(user)
    session.flush()
    audit.record(session, actor, "user.create", "user", user.id, name=name, role=role)
    return user


def list_users(session: Session, org_id: int | None = None) -> list[User]:
    stmt = select(User).order_by(User.name)
    if org_id is not None:
        stmt = stmt.where(User.org_id == org_id)
    return list(session.scalars(stmt))


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"no user with id {user_id}")
    return user


def find_user(session: Session, name: str) -> User:
    user = session.scalar(select(User).where(User.name == name))
    if user is None:
        raise NotFound(f"no user named {name!r}")
    return user


def set_user_active(session: Session, actor: Principal | None, user_id: int, active: bool) -> User:
    if actor is not None:
        require(actor, Action.MANAGE_USERS)
    user = get_user(session, user_id)
    user.active = active
    audit.record(session, actor, "user.update", "user", user.id, active=active)
    return user


# -- tokens --------------------------------------------------------------------------------


def issue_token(
    session: Session,
    actor: Principal | None,
    *,
    user_id: int,
    label: str = "",
    expires_days: int | None = None,
) -> tuple[ApiToken, IssuedToken]:
    """A new token for `user_id`; users issue their own, admins anyone's. Shown once."""
    if actor is not None and actor.user_id != user_id:
        require(actor, Action.MANAGE_USERS)
    user = get_user(session, user_id)
    if not user.active:
        raise InvalidInput("cannot issue a token to a disabled account")
    if expires_days is not None and not 1 <= expires_days <= 3650:
        raise InvalidInput("expires_days must be between 1 and 3650")
    issued, secret_hash = new_token()
    now = datetime.now(UTC)
    row = ApiToken(
        public_id=issued.public_id,
        user_id=user_id,
        label=label[:120],
        secret_hash=secret_hash,
        created_at=now,
        expires_at=now + timedelta(days=expires_days) if expires_days else None,
    )
    session.add(row)
    session.flush()
    audit.record(session, actor, "token.issue", "token", issued.public_id, user_id=user_id)
    return row, issued


def list_tokens(session: Session, actor: Principal | None, user_id: int | None) -> list[ApiToken]:
    stmt = select(ApiToken).order_by(ApiToken.created_at)
    if actor is not None and not may(actor, Action.MANAGE_USERS):
        user_id = actor.user_id
    if user_id is not None:
        stmt = stmt.where(ApiToken.user_id == user_id)
    return list(session.scalars(stmt))


def revoke_token(session: Session, actor: Principal | None, public_id: str) -> ApiToken:
    tok = session.scalar(select(ApiToken).where(ApiToken.public_id == public_id))
    if tok is None:
        raise NotFound(f"no token {public_id!r}")
    if actor is not None and tok.user_id != actor.user_id:
        require(actor, Action.MANAGE_USERS)
    if tok.revoked_at is None:
        tok.revoked_at = datetime.now(UTC)
        audit.record(session, actor, "token.revoke", "token", public_id)
    return tok


# -- sharing groups ------------------------------------------------------------------------


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
        require(actor, Action.MANAGE_GROUPS)
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


def set_group_members(
    session: Session, actor: Principal | None, group_id: int, member_org_ids: list[int]
) -> GroupView:
    if actor is not None:
        require(actor, Action.MANAGE_GROUPS)
    group = session.get(SharingGroup, group_id)
    if group is None:
        raise NotFound(f"no sharing group with id {group_id}")
    members = sorted({group.owner_org_id, *member_org_ids})
    found = session.scalar(select(func.count()).where(Organisation.id.in_(members)))
    if found != len(members):
        raise InvalidInput("every member of a sharing group must be an existing organisation")
    session.execute(delete(GroupMember).where(GroupMember.group_id == group_id))
    session.add_all(GroupMember(group_id=group_id, org_id=m) for m in members)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict("the sharing group changed while it was being edited") from None
    audit.record(session, actor, "group.members", "group", group_id, members=members)
    return _group_view(session, group)


def list_groups(session: Session) -> list[GroupView]:
    groups = session.scalars(select(SharingGroup).order_by(SharingGroup.name))
    return [_group_view(session, g) for g in groups]


def groups_by_name(session: Session, names: list[str]) -> dict[str, int]:
    rows = session.execute(
        select(SharingGroup.name, SharingGroup.id).where(SharingGroup.name.in_(names))
    )
    return {name: gid for name, gid in rows}
