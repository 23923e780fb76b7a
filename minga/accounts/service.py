"""Organisations, users, tokens and sharing groups. Services take a session and never commit."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from minga import audit
from minga.accounts.checks import refuse_remote, require, user_target
from minga.accounts.models import ApiToken, GroupMember, Organisation, User
from minga.accounts.node import operator_org_id, token_key
from minga.accounts.places import check_country, check_sector
from minga.accounts.tokens import IssuedToken, new_token
from minga.errors import Conflict, InvalidInput, NotFound
from minga.policy import Action, Principal, Role, Target, may

__all__ = ["may", "require", "user_target"]

ORG_KINDS = ("government", "csirt", "private", "academia", "civil-society")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{1,119}$")


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
        operator_org=operator_org_id(session) == org.id,
        remote=org.remote_node is not None,
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
    """A member organisation and its STIX identity (stored as a TLP:CLEAR community object).
    (`minga init` marks an operator organisation that is not a member: `member` False.)"""
    if actor is not None:
        require(actor, Action.MANAGE_ORGS)
    name = name.strip()
    if not name or len(name) > 200:
        raise InvalidInput("an organisation needs a name of 1-200 characters")
    country = check_country(country)
    if kind not in ORG_KINDS:
        raise InvalidInput(f"kind must be one of: {', '.join(ORG_KINDS)}")
    if session.scalar(select(Organisation.id).where(Organisation.name == name)) is not None:
        raise Conflict(f"an organisation named {name!r} already exists")
    sector = check_sector(sector)
    org = Organisation(
        name=name,
        country=country,
        sector=sector,
        kind=kind,
        description=description,
        identity_ref=identity_ref or f"identity--{uuid.uuid4()}",
        created_at=datetime.now(UTC),
    )
    session.add(org)
    session.flush()
    from minga.intel.service import store_identity  # intel depends on accounts, not the reverse

    store_identity(session, org)
    audit.record(
        session,
        actor,
        "organisation.create",
        "organisation",
        org.id,
        subject_org_id=org.id,
        name=name,
    )
    return org


def list_organisations(session: Session, *, members_only: bool = False) -> list[Organisation]:
    """Every organisation of the node, or (`members_only`) the community's members: without
    an operator organisation that is not a member."""
    stmt = select(Organisation).order_by(Organisation.name)
    if members_only:
        stmt = stmt.where(Organisation.member.is_(True))
    return list(session.scalars(stmt))


def get_organisation(session: Session, org_id: int) -> Organisation:
    org = session.get(Organisation, org_id)
    if org is None:
        raise NotFound(f"no organisation with id {org_id}")
    return org


# -- users ---------------------------------------------------------------------------------


def create_user(
    session: Session,
    actor: Principal | None,
    *,
    org_id: int,
    name: str,
    role: str,
    allow_remote: bool = False,
) -> User:
    """An account; in a remote organisation only the peer machine account (`allow_remote`)."""
    org = get_organisation(session, org_id)
    if not allow_remote:
        refuse_remote(org, "its accounts are created")
    if actor is not None:
        require(actor, Action.MANAGE_USERS, Target(org_id=org_id))
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
    audit.record(
        session, actor, "user.create", "user", user.id, subject_org_id=org_id, name=name, role=role
    )
    return user


def list_users(
    session: Session, org_id: int | None = None, actor: Principal | None = None
) -> list[User]:
    """Accounts (of one organisation); an `actor` sees those it may know of only (its own
    organisation's; the node operator's, every organisation's)."""
    if actor is not None and not may(actor, Action.VIEW_USER, Target(org_id=org_id)):
        if org_id is not None:
            return []
        org_id = actor.org_id
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


def visible_user(session: Session, actor: Principal | None, user_id: int) -> User:
    """The user, if `actor` may know of it; another organisation's looks like an unknown id."""
    user = session.get(User, user_id)
    if user is None or (actor is not None and not may(actor, Action.VIEW_USER, user_target(user))):
        raise NotFound(f"no user with id {user_id}")
    return user


def set_user_active(session: Session, actor: Principal | None, user_id: int, active: bool) -> User:
    user = visible_user(session, actor, user_id)
    if actor is not None:
        action = Action.MANAGE_USERS if active else Action.DISABLE_USER
        require(actor, action, user_target(user))
    if active:  # a removed peer's machine account comes back only with `minga peer add`
        refuse_remote(get_organisation(session, user.org_id), "its accounts are enabled")
    user.active = active
    audit.record(
        session, actor, "user.update", "user", user.id, subject_org_id=user.org_id, active=active
    )
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
    """A new token for `user_id`, shown once: to its holder, or by an organisation admin to a
    machine account of its own organisation; `actor` None is the node-local command line."""
    user = visible_user(session, actor, user_id)
    if actor is not None:
        require(actor, Action.ISSUE_TOKEN, user_target(user))
    if not user.active:
        raise InvalidInput("cannot issue a token to a disabled account")
    if expires_days is not None and not 1 <= expires_days <= 3650:
        raise InvalidInput("expires_days must be between 1 and 3650")
    issued, secret_hash = new_token(token_key(session))
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
    audit.record(
        session,
        actor,
        "token.issue",
        "token",
        issued.public_id,
        subject_org_id=user.org_id,
        user_id=user_id,
    )
    return row, issued


def list_tokens(session: Session, actor: Principal | None, user_id: int | None) -> list[ApiToken]:
    """Tokens (of one user); an `actor` sees its own, and an admin its organisation's."""
    stmt = select(ApiToken, User).join(User, User.id == ApiToken.user_id)
    if user_id is not None:
        stmt = stmt.where(ApiToken.user_id == user_id)
    if actor is not None and actor.role is Role.ADMIN:
        stmt = stmt.where(User.org_id == actor.org_id)
    elif actor is not None:
        stmt = stmt.where(ApiToken.user_id == actor.user_id)
    rows = session.execute(stmt.order_by(ApiToken.created_at, ApiToken.id)).all()
    return [t for t, u in rows if actor is None or may(actor, Action.MANAGE_TOKEN, user_target(u))]


def revoke_token(session: Session, actor: Principal | None, public_id: str) -> ApiToken:
    row = session.execute(
        select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.public_id == public_id)
    ).first()
    # Another organisation's token is answered like an unknown one.
    if row is None or (
        actor is not None and not may(actor, Action.MANAGE_TOKEN, user_target(row[1]))
    ):
        raise NotFound(f"no token {public_id!r}")
    tok, user = row
    if tok.revoked_at is None:
        tok.revoked_at = datetime.now(UTC)
        audit.record(session, actor, "token.revoke", "token", public_id, subject_org_id=user.org_id)
    return tok


# -- sharing groups (minga/accounts/groups.py) ----------------------------------------------

from minga.accounts.groups import (  # noqa: E402
    GroupView,
    create_group,
    group_target,
    groups_by_name,
    groups_to_share_with,
    leave_group,
    list_groups,
    set_group_members,
)

__all__ += [
    "GroupView",
    "create_group",
    "group_target",
    "groups_by_name",
    "groups_to_share_with",
    "leave_group",
    "list_groups",
    "set_group_members",
]
