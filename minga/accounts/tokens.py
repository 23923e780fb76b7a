"""API tokens: random, shown once, stored argon2-hashed, revocable.

A token reads `mg_<public id>_<secret>`. The public id finds the row in one indexed lookup; argon2
then checks the secret. argon2 costs ~50 ms by design, so a successful check is remembered in
process (keyed by a SHA-256 of the whole token) for `token_cache_seconds`; the row itself is read
on every request, so a revocation takes effect at once.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from minga.accounts.models import ApiToken, User
from minga.errors import Unauthenticated

_HASHER = PasswordHasher()
PREFIX = "mg"


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str  # shown once, never stored
    public_id: str


def new_token() -> tuple[IssuedToken, str]:
    """A fresh token and the argon2 hash of its secret."""
    public_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    return IssuedToken(f"{PREFIX}_{public_id}_{secret}", public_id), _HASHER.hash(secret)


def split(token: str) -> tuple[str, str]:
    parts = token.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != PREFIX or len(parts[1]) != 12 or not parts[2]:
        raise Unauthenticated("the API token is malformed")
    return parts[1], parts[2]


class TokenVerifier:
    """Checks tokens against the database, remembering recent argon2 successes."""

    def __init__(self, cache_seconds: int = 60) -> None:
        self.cache_seconds = cache_seconds
        self._ok: dict[str, float] = {}
        self._lock = threading.Lock()

    def verify(self, session: Session, token: str) -> User:
        public_id, secret = split(token)
        row = session.execute(
            select(ApiToken, User)
            .join(User, User.id == ApiToken.user_id)
            .where(ApiToken.public_id == public_id)
        ).first()
        if row is None:
            raise Unauthenticated("the API token is not known to this node")
        tok, user = row
        if tok.revoked_at is not None:
            raise Unauthenticated("the API token has been revoked")
        if tok.expires_at is not None and _aware(tok.expires_at) <= datetime.now(UTC):
            raise Unauthenticated("the API token has expired")
        if not user.active:
            raise Unauthenticated("the account of this API token is disabled")
        key = hashlib.sha256(token.encode()).hexdigest()
        now = time.monotonic()
        with self._lock:
            seen = self._ok.get(key)
        if seen is None or now - seen > self.cache_seconds:
            try:
                _HASHER.verify(tok.secret_hash, secret)
            except (VerificationError, InvalidHashError):
                raise Unauthenticated("the API token is not valid") from None
            with self._lock:
                if len(self._ok) > 10_000:
                    self._ok.clear()
                self._ok[key] = now
        return user


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)
