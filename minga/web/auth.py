"""Web sessions: a signed cookie naming a server-side session row; CSRF tokens for every form.

The cookie holds `session key . HMAC-SHA256(key)`; the table holds only a SHA-256 of the key
(`minga.accounts.websessions`). Every request re-reads the row and its user, so ending a session,
or disabling the person, takes effect at once. The CSRF token is an HMAC of the cookie, so nothing
more is stored. Short-lived signed values (the OIDC flow's state) use `seal`/`unseal`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy.orm import Session

from minga.accounts import service as accounts
from minga.accounts import websessions
from minga.accounts.models import User
from minga.accounts.models import WebSession as SessionRow
from minga.policy import Principal
from minga.settings import Settings

log = logging.getLogger("minga.web")

SESSION_COOKIE = "minga_session"
PRE_COOKIE = "minga_pre"  # double-submit value protecting the sign-in forms themselves
OIDC_COOKIE = "minga_oidc"  # the OIDC flow's state, nonce and PKCE verifier, sealed
MAX_AGE = 30 * 86400  # the cookie's own bound; the session row decides when it really ends


def signing_key(settings: Settings) -> bytes:
    """MINGA_SECRET_KEY if set; else a random key kept in a file next to the SQLite database.

    Without either (PostgreSQL or an in-memory database) the key lives only in this run: web
    sessions end when the node restarts (`minga serve --workers` makes one for all its workers).
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
    key: str  # the session key (its SHA-256 finds the row)
    cookie: str  # the whole cookie value, which CSRF tokens are bound to


def _mac(key: bytes, message: str) -> str:
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def issue_cookie(key: bytes, session_key: str) -> str:
    return f"{session_key}.{_mac(key, 'session|' + session_key)}"


def read_cookie(key: bytes, value: str | None) -> WebSession | None:
    """The session key a cookie names, if its signature is good."""
    if not value or value.count(".") != 1:
        return None
    session_key, mac = value.split(".")
    if not session_key or not hmac.compare_digest(mac, _mac(key, "session|" + session_key)):
        return None
    return WebSession(session_key, value)


def current(session: Session, web: WebSession) -> tuple[SessionRow, User] | None:
    """The live, complete session row of a cookie and its user, else None."""
    found = websessions.find(session, web.key)
    if found is None or found[0].stage != "complete":
        return None
    if websessions.touch(session, found[0]):
        session.commit()  # the request's own write: when this session was last used
    return found


def pending(session: Session, web: WebSession) -> tuple[SessionRow, User] | None:
    """A session still waiting for its second factor ("code" or "enrol"), else None."""
    found = websessions.find(session, web.key)
    return found if found is not None and found[0].stage in ("code", "enrol") else None


def principal_of(session: Session, web: WebSession) -> Principal | None:
    """The principal of a live, complete web session, else None."""
    found = current(session, web)
    return accounts.principal_for(session, found[1]) if found is not None else None


def seal(key: bytes, purpose: str, payload: dict[str, Any]) -> str:
    """A signed, timestamped value for a cookie (readable by the browser, not forgeable)."""
    body = base64.urlsafe_b64encode(orjson.dumps({**payload, "_t": int(time.time())})).decode()
    return f"{body}.{_mac(key, purpose + '|' + body)}"


def unseal(key: bytes, purpose: str, value: str | None, max_age: int) -> dict[str, Any] | None:
    if not value or value.count(".") != 1:
        return None
    body, mac = value.split(".")
    if not hmac.compare_digest(mac, _mac(key, purpose + "|" + body)):
        return None
    try:
        payload = orjson.loads(base64.urlsafe_b64decode(body.encode()))
    except (ValueError, orjson.JSONDecodeError):
        return None
    if not isinstance(payload, dict) or not 0 <= time.time() - payload.get("_t", 0) <= max_age:
        return None
    return payload


def csrf_token(key: bytes, binding: str) -> str:
    """The form token for a session cookie (or for the pre-session value on the sign-in form)."""
    return _mac(key, "csrf|" + binding)[:40]


def csrf_ok(key: bytes, binding: str | None, submitted: str | None) -> bool:
    if not binding or not submitted:
        return False
    return hmac.compare_digest(csrf_token(key, binding), submitted)
