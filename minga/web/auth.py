"""Web sessions: sign in with an API token, then a signed cookie; CSRF tokens for every form.

The cookie holds `user id . token public id . issue time . HMAC-SHA256` and never the token's
secret. Every request re-reads the token row, so revoking the token (or disabling the user)
ends the web session at once. The CSRF token is an HMAC of the cookie, so nothing is stored.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.orm import Session

from minga.accounts import service as accounts
from minga.errors import NotFound
from minga.policy import Principal
from minga.settings import Settings

log = logging.getLogger("minga.web")

SESSION_COOKIE = "minga_session"
PRE_COOKIE = "minga_pre"  # double-submit value protecting the sign-in form itself
MAX_AGE = 12 * 3600


def signing_key(settings: Settings) -> bytes:
    """MINGA_SECRET_KEY if set; else a random key kept in a file next to the SQLite database.

    Without either (PostgreSQL or an in-memory database) the key lives only in this process:
    web sessions end when the node restarts, and several workers need MINGA_SECRET_KEY.
    """
    if settings.secret_key:
        return hashlib.sha256(b"minga-web-session|" + settings.secret_key.encode()).digest()
    db = settings.sqlite_path()
    if db is None:
        log.warning("MINGA_SECRET_KEY is empty: web sessions end when this process stops")
        return secrets.token_bytes(32)
    return _key_file(db.with_name(db.name + ".web-key"))


def _key_file(path: Path) -> bytes:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = bytes.fromhex(path.read_text().strip())
        if len(key) != 32:
            raise RuntimeError(f"{path} does not hold a 32-byte hex key; delete it") from None
        return key
    key = secrets.token_bytes(32)
    with os.fdopen(fd, "w") as fh:
        fh.write(key.hex())
    return key


@dataclass(frozen=True, slots=True)
class WebSession:
    user_id: int
    public_id: str
    issued: int
    cookie: str


def _mac(key: bytes, message: str) -> str:
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def issue_cookie(key: bytes, user_id: int, public_id: str, now: int | None = None) -> str:
    body = f"{user_id}.{public_id}.{now if now is not None else int(time.time())}"
    return f"{body}.{_mac(key, 'session|' + body)}"


def read_cookie(key: bytes, value: str | None, now: int | None = None) -> WebSession | None:
    """The session a cookie names, if its signature is good and it is not too old."""
    if not value:
        return None
    parts = value.split(".")
    if len(parts) != 4 or not parts[0].isdigit() or not parts[2].isdigit():
        return None
    body = ".".join(parts[:3])
    if not hmac.compare_digest(parts[3], _mac(key, "session|" + body)):
        return None
    issued = int(parts[2])
    current = now if now is not None else int(time.time())
    if not issued - 60 <= current <= issued + MAX_AGE:
        return None
    return WebSession(int(parts[0]), parts[1], issued, value)


def principal_of(session: Session, web: WebSession) -> Principal | None:
    """The principal of a web session whose token is still valid, else None."""
    try:
        user = accounts.get_user(session, web.user_id)
    except NotFound:
        return None
    if not user.active:
        return None
    now = datetime.now(UTC)
    for tok in accounts.list_tokens(session, None, web.user_id):
        if tok.public_id != web.public_id or tok.revoked_at is not None:
            continue
        expires = tok.expires_at
        if expires is not None and _aware(expires) <= now:
            return None
        return accounts.principal_for(session, user)
    return None


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def csrf_token(key: bytes, binding: str) -> str:
    """The form token for a session cookie (or for the pre-session value on the sign-in form)."""
    return _mac(key, "csrf|" + binding)[:40]


def csrf_ok(key: bytes, binding: str | None, submitted: str | None) -> bool:
    if not binding or not submitted:
        return False
    return hmac.compare_digest(csrf_token(key, binding), submitted)
