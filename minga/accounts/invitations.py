"""One-time invitations: how a person (or machine account) joins an organisation.

Nobody hands another person a credential. An organisation admin (or, for another organisation's
first administrator, the node operator; or the node-local command line) creates an invitation for
a role; its secret is shown once and only its SHA-256 is stored (the secret is 256 random bits, so
a fast hash suffices and finds the row in one indexed lookup). Whoever holds the secret redeems it
once, before it expires, and becomes that user; they then set their own password or token.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from minga import audit
from minga.accounts.checks import refuse_remote, require
from minga.accounts.models import Invitation, User
from minga.accounts.service import create_user, get_organisation
from minga.errors import InvalidInput, NotFound
from minga.policy import Action, Principal, Role, Target, may

PREFIX = "mgi"
MAX_TTL_HOURS = 24 * 30
# The same sentence for an unknown, used, revoked or expired secret: secrets cannot be probed.
UNUSABLE = "this invitation is not valid: it is unknown, already used, revoked or expired"


# Where it is redeemed, relative to the node (the node does not know the host people reach it by).
REDEEM_PAGE = "/invite"
REDEEM_API = "POST /api/invitations/redeem"


def redeem_at(role: str, secret: str) -> str:
    """Where an invitation is redeemed: a person on the web page (and then sets a password), a
    machine account through the REST route (which answers with its first API token)."""
    if role == Role.MACHINE.value:
        return REDEEM_API
    return f"{REDEEM_PAGE}?secret={quote(secret, safe='')}"


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.strip().encode()).hexdigest()


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise InvalidInput(f"role must be one of: {', '.join(r.value for r in Role)}") from None


def create_invitation(
    session: Session,
    actor: Principal | None,
    *,
    org_id: int,
    role: str,
    note: str = "",
    ttl_hours: int = 72,
) -> tuple[Invitation, str]:
    """A new invitation and its secret (returned once); `actor` None is the node-local CLI."""
    refuse_remote(get_organisation(session, org_id), "people are invited")
    role_value = _role(role)
    if actor is not None:
        require(actor, Action.INVITE, Target(org_id=org_id, role=role_value))
    if not 1 <= ttl_hours <= MAX_TTL_HOURS:
        raise InvalidInput(f"an invitation lasts between 1 and {MAX_TTL_HOURS} hours")
    secret = f"{PREFIX}_{secrets.token_urlsafe(32)}"
    now = datetime.now(UTC)
    row = Invitation(
        org_id=org_id,
        role=role_value.value,
        note=note[:2000],
        secret_hash=_hash(secret),
        created_by=actor.user_id if actor else None,
        created_at=now,
        expires_at=now + timedelta(hours=ttl_hours),
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor,
        "invitation.create",
        "invitation",
        row.id,
        subject_org_id=org_id,
        role=row.role,
        expires_at=row.expires_at,
    )
    return row, secret


def list_invitations(
    session: Session, actor: Principal | None, org_id: int | None = None
) -> list[Invitation]:
    """Invitations into the actor's organisation (the node operator and the node-local command
    line, `actor` None: every organisation's), newest first; `org_id` narrows to one."""
    stmt = select(Invitation).order_by(Invitation.created_at.desc(), Invitation.id.desc())
    if org_id is not None:
        stmt = stmt.where(Invitation.org_id == org_id)
    found = session.scalars(stmt)
    return [i for i in found if _may_see(actor, i)]


def _may_see(actor: Principal | None, invitation: Invitation) -> bool:
    if actor is None:
        return True
    return may(actor, Action.INVITE, Target(org_id=invitation.org_id, role=Role(invitation.role)))


def revoke_invitation(session: Session, actor: Principal | None, invitation_id: int) -> Invitation:
    found = session.get(Invitation, invitation_id)
    # Another organisation's invitation is answered like an unknown one.
    if found is None or not _may_see(actor, found):
        raise NotFound(f"no invitation with id {invitation_id}")
    if found.used_at is not None:
        raise InvalidInput("this invitation has already been used")
    if found.revoked_at is None:
        found.revoked_at = datetime.now(UTC)
        audit.record(
            session, actor, "invitation.revoke", "invitation", found.id, subject_org_id=found.org_id
        )
    return found


def redeem_invitation(session: Session, secret: str, *, user_name: str) -> User:
    """The user the invitation promised, in the invited organisation with the invited role."""
    found = session.scalar(select(Invitation).where(Invitation.secret_hash == _hash(secret)))
    now = datetime.now(UTC)
    if (
        found is None
        or found.used_at is not None
        or found.revoked_at is not None
        or _aware(found.expires_at) <= now
    ):
        raise InvalidInput(UNUSABLE)
    # Claimed with one conditional UPDATE, so two redeemers racing cannot both win.
    claimed = session.execute(
        update(Invitation)
        .where(
            Invitation.id == found.id,
            Invitation.used_at.is_(None),
            Invitation.revoked_at.is_(None),
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if getattr(claimed, "rowcount", 0) != 1:
        raise InvalidInput(UNUSABLE)
    user = create_user(session, None, org_id=found.org_id, name=user_name, role=found.role)
    session.refresh(found)
    found.used_by = user.id
    audit.record(
        session,
        None,
        "invitation.redeem",
        "invitation",
        found.id,
        subject_org_id=found.org_id,
        user_id=user.id,
        name=user.name,
    )
    return user


def status(invitation: Invitation, now: datetime | None = None) -> str:
    """pending, used, revoked or expired."""
    if invitation.used_at is not None:
        return "used"
    if invitation.revoked_at is not None:
        return "revoked"
    if _aware(invitation.expires_at) <= (now or datetime.now(UTC)):
        return "expired"
    return "pending"
