"""Server-side web sessions: one row per browser sign-in, listed and ended by their person.

A session is opened by a password (stage "code" or "enrol": the second factor is still due) or by
OIDC (stage "complete"). Its key is random; the browser's cookie holds it (signed by the web
adapter), the table holds only its SHA-256, so a copy of the database opens no session. Completing
a stage issues a new key, so a key seen before the second factor is worth nothing after it.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from minga.accounts.models import User, WebSession

PENDING_MINUTES = 10  # time to type the second factor after the password
TOUCH_SECONDS = 60  # last_seen_at is written at most once a minute per session
KEEP_DAYS = 30  # ended and expired rows are deleted after this


@dataclass(frozen=True, slots=True)
class Opened:
    key: str  # the secret the cookie carries; never stored
    row: WebSession


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def open_session(
    session: Session,
    user_id: int,
    *,
    stage: str,
    method: str,
    address: str,
    user_agent: str,
    hours: int,
) -> Opened:
    now = datetime.now(UTC)
    session.execute(delete(WebSession).where(WebSession.expires_at < now - timedelta(KEEP_DAYS)))
    key = secrets.token_urlsafe(32)
    life = timedelta(hours=hours) if stage == "complete" else timedelta(minutes=PENDING_MINUTES)
    row = WebSession(
        key_hash=_hash(key),
        user_id=user_id,
        stage=stage,
        method=method,
        address=address[:64],
        user_agent=user_agent[:200],
        created_at=now,
        last_seen_at=now,
        expires_at=now + life,
    )
    session.add(row)
    session.flush()
    return Opened(key, row)


def complete(session: Session, row: WebSession, hours: int) -> str:
    """The second factor is done: the session gets a new key and its full lifetime."""
    key = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    row.key_hash = _hash(key)
    row.stage = "complete"
    row.last_seen_at = now
    row.expires_at = now + timedelta(hours=hours)
    session.flush()
    return key


def find(session: Session, key: str) -> tuple[WebSession, User] | None:
    """The live session with this key and its (active) user, else None."""
    found = session.execute(
        select(WebSession, User)
        .join(User, User.id == WebSession.user_id)
        .where(WebSession.key_hash == _hash(key))
    ).first()
    if found is None:
        return None
    row, user = found
    now = datetime.now(UTC)
    if row.ended_at is not None or _aware(row.expires_at) <= now or not user.active:
        return None
    return row, user


def touch(session: Session, row: WebSession) -> bool:
    """Note the session was used (at most once a minute); True if the caller should commit."""
    now = datetime.now(UTC)
    if (now - _aware(row.last_seen_at)).total_seconds() < TOUCH_SECONDS:
        return False
    row.last_seen_at = now
    return True


def list_sessions(session: Session, user_id: int) -> list[WebSession]:
    """The user's live, complete sessions, most recently used first."""
    now = datetime.now(UTC)
    stmt = (
        select(WebSession)
        .where(
            WebSession.user_id == user_id,
            WebSession.ended_at.is_(None),
            WebSession.expires_at > now,
            WebSession.stage == "complete",
        )
        .order_by(WebSession.last_seen_at.desc(), WebSession.id.desc())
    )
    return list(session.scalars(stmt))


def end(session: Session, user_id: int, session_id: int) -> bool:
    """End one of the user's sessions; False if it is not theirs or already ended."""
    return _end(session, WebSession.user_id == user_id, WebSession.id == session_id) > 0


def end_others(session: Session, user_id: int, keep_id: int) -> int:
    return _end(session, WebSession.user_id == user_id, WebSession.id != keep_id)


def end_all(session: Session, user_id: int) -> int:
    """End every session of a user (their password or second factor changed, or they left)."""
    return _end(session, WebSession.user_id == user_id)


def _end(session: Session, *where: object) -> int:
    done = session.execute(
        update(WebSession)
        .where(*where, WebSession.ended_at.is_(None))  # type: ignore[arg-type]
        .values(ended_at=datetime.now(UTC))
        .execution_options(synchronize_session=False)
    )
    session.expire_all()
    return int(getattr(done, "rowcount", 0))


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)
