"""Feed tokens: issued to a user (or by an organisation admin to one of its machine accounts,
the account a firewall polls as), shown once, stored as a keyed hash, revocable.

A feed token reads `mf_<public id>_<secret>`: the API refuses it (its prefix is not an API
token's), so a token written into a firewall's configuration can read feeds and nothing else.
Whom it acts as is read on every poll: a disabled account or a revoked token stops at once.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from minga import audit
from minga.accounts.checks import require, user_target
from minga.accounts.models import User
from minga.accounts.node import token_key
from minga.accounts.service import principal_for, visible_user
from minga.accounts.tokens import mac
from minga.correlate.feed_models import FeedToken
from minga.errors import InvalidInput, NotFound, Unauthenticated
from minga.policy import Action, Principal, Role, may

PREFIX = "mf"
# A poll records its time at most this often (a firewall polling every minute writes little).
USED_EVERY = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class IssuedFeedToken:
    token: str  # shown once, never stored
    row: FeedToken


def looks_like_feed_token(token: str) -> bool:
    return token.startswith(PREFIX + "_")


def _split(token: str) -> str:
    parts = token.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != PREFIX or len(parts[1]) != 12 or not parts[2]:
        raise Unauthenticated("the feed token is malformed")
    return parts[1]


def issue(
    session: Session, actor: Principal | None, *, user_id: int, name: str = ""
) -> IssuedFeedToken:
    """A new feed token for `user_id` (`actor` None: the node's command line)."""
    user = visible_user(session, actor, user_id)
    if actor is not None:
        require(actor, Action.ISSUE_TOKEN, user_target(user))
    if not user.active:
        raise InvalidInput("cannot issue a feed token to a disabled account")
    public_id = secrets.token_hex(6)
    token = f"{PREFIX}_{public_id}_{secrets.token_urlsafe(32)}"
    row = FeedToken(
        public_id=public_id,
        user_id=user.id,
        name=name.strip()[:120],
        secret_hash=mac(token_key(session), token),
        created_at=datetime.now(UTC),
    )
    session.add(row)
    session.flush()
    audit.record(
        session, actor, "feed-token.issue", "feed-token", public_id, subject_org_id=user.org_id
    )
    return IssuedFeedToken(token, row)


def list_feed_tokens(session: Session, actor: Principal | None) -> list[tuple[FeedToken, User]]:
    """Feed tokens the actor manages: its own, and an admin its organisation's."""
    stmt = select(FeedToken, User).join(User, User.id == FeedToken.user_id)
    if actor is not None and actor.role is Role.ADMIN:
        stmt = stmt.where(User.org_id == actor.org_id)
    elif actor is not None:
        stmt = stmt.where(FeedToken.user_id == actor.user_id)
    rows = session.execute(stmt.order_by(FeedToken.created_at, FeedToken.id)).all()
    return [
        (t, u) for t, u in rows if actor is None or may(actor, Action.MANAGE_TOKEN, user_target(u))
    ]


def revoke(session: Session, actor: Principal | None, public_id: str) -> FeedToken:
    row = session.execute(
        select(FeedToken, User)
        .join(User, User.id == FeedToken.user_id)
        .where(FeedToken.public_id == public_id)
    ).first()
    if row is None or (
        actor is not None and not may(actor, Action.MANAGE_TOKEN, user_target(row[1]))
    ):
        raise NotFound(f"no feed token {public_id!r}")
    tok, user = row
    if tok.revoked_at is None:
        tok.revoked_at = datetime.now(UTC)
        audit.record(
            session, actor, "feed-token.revoke", "feed-token", public_id, subject_org_id=user.org_id
        )
    return tok


def verify(session: Session, token: str) -> Principal:
    """The principal a feed token acts as; `Unauthenticated` for anything else."""
    public_id = _split(token)
    row = session.execute(
        select(FeedToken, User)
        .join(User, User.id == FeedToken.user_id)
        .where(FeedToken.public_id == public_id)
    ).first()
    if row is None:
        raise Unauthenticated("the feed token is not known to this node")
    tok, user = row
    if not hmac.compare_digest(mac(token_key(session), token), tok.secret_hash):
        raise Unauthenticated("the feed token is not valid")
    if tok.revoked_at is not None:
        raise Unauthenticated("the feed token has been revoked")
    if not user.active:
        raise Unauthenticated("the account of this feed token is disabled")
    return principal_for(session, user)


def mark_used(session: Session, token: str) -> bool:
    """Record that the token polled now, unless it did so recently. True if a row changed."""
    now = datetime.now(UTC)
    result = session.execute(
        update(FeedToken)
        .where(FeedToken.public_id == _split(token))
        .where((FeedToken.last_used_at.is_(None)) | (FeedToken.last_used_at < now - USED_EVERY))
        .values(last_used_at=now)
    )
    return bool(getattr(result, "rowcount", 0))
