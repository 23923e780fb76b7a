"""API tokens: random, shown once, stored as a keyed hash, revocable.

A token reads `mg_<public id>_<secret>`. The public id finds the row in one indexed look-up, and
the same query reads the user, organisation, sharing groups and operator setting the principal
needs. The stored hash is HMAC-SHA-256 of the whole token under the node's key
(`minga.accounts.node.token_key`): a token holds 256 random bits, so no guessing is left for a
slow hash to slow down, and the check costs microseconds. People's passwords stay argon2.

Tokens issued before the keyed hash are stored argon2-hashed; the first successful check stores
their HMAC instead (`upgrade`). Until that is committed, an argon2 success is remembered in
process for `token_cache_seconds`, and one check per token runs at a time: requests arriving
while it runs take its answer instead of starting their own (no stampede when the entry expires).
The row is read on every request, so a revocation takes effect at once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, Engine, Integer, bindparam, cast, func, select, update
from sqlalchemy.orm import Session, aliased

from minga.accounts.models import ApiToken, GroupMember, NodeSetting, Organisation, User
from minga.accounts.node import OPERATOR_KEY, TOKEN_KEY, token_key
from minga.db import make_engine
from minga.errors import Unauthenticated
from minga.policy import Principal, Role

PREFIX = "mg"
MAC_PREFIX = "hmac-sha256$"


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str  # shown once, never stored
    public_id: str


def mac(key: bytes, token: str) -> str:
    """What is stored for `token`: its HMAC-SHA-256 under the node's key."""
    return MAC_PREFIX + hmac.new(key, token.encode(), hashlib.sha256).hexdigest()


def new_token(key: bytes) -> tuple[IssuedToken, str]:
    """A fresh token and the keyed hash to store for it."""
    public_id = secrets.token_hex(6)
    token = f"{PREFIX}_{public_id}_{secrets.token_urlsafe(32)}"
    return IssuedToken(token, public_id), mac(key, token)


def split(token: str) -> tuple[str, str]:
    parts = token.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != PREFIX or len(parts[1]) != 12 or not parts[2]:
        raise Unauthenticated("the API token is malformed")
    return parts[1], parts[2]


# The operator organisation as `operator_org_id` finds it: as recorded, else the first admin's.
_admin = aliased(User)
_first_admin = select(func.min(_admin.id)).where(_admin.role == "admin").scalar_subquery()
_first_admin_org = select(_admin.org_id).where(_admin.id == _first_admin).scalar_subquery()
_recorded = select(NodeSetting.value).where(NodeSetting.key == OPERATOR_KEY).scalar_subquery()
_OPERATOR = func.coalesce(cast(_recorded, Integer), _first_admin_org)
# One row per sharing group of the organisation (one row with no group if it has none).
_LOOKUP = (
    select(
        ApiToken.id.label("token_id"),
        ApiToken.secret_hash,
        ApiToken.revoked_at,
        ApiToken.expires_at,
        User.id.label("user_id"),
        User.name,
        User.role,
        User.active,
        User.org_id,
        Organisation.identity_ref,
        Organisation.remote_node,
        GroupMember.group_id,
        _OPERATOR.label("operator"),
    )
    .join(User, User.id == ApiToken.user_id)
    .join(Organisation, Organisation.id == User.org_id)
    .outerjoin(GroupMember, GroupMember.org_id == Organisation.id)
    .where(ApiToken.public_id == bindparam("public_id"))
)


@dataclass(frozen=True, slots=True)
class Verified:
    principal: Principal
    token_id: int
    upgrade_from: str | None = None  # the argon2 hash a successful check may replace


class TokenVerifier:
    """Checks tokens against the database and answers the principal they act as."""

    def __init__(
        self,
        cache_seconds: int = 60,
        hasher: PasswordHasher | None = None,
        *,
        side: Engine | None = None,
    ) -> None:
        self.cache_seconds = cache_seconds
        self.hasher = hasher or PasswordHasher()
        self._key: bytes | None = None
        self._ok: dict[str, float] = {}  # SHA-256 of a token -> when argon2 last accepted it
        self._flights: dict[str, tuple[threading.Lock, list[int]]] = {}
        self._lock = threading.Lock()
        # SQLite: the connection `verify_here` reads with (the app's loop engine, when it has one)
        self._side: Engine | None = side

    def verify(self, session: Session, token: str) -> Verified:
        found = self._verify(session.connection(), token, slow=True)
        assert found is not None  # with slow=True an argon2-hashed token is checked too
        return found

    def verify_here(self, engine: Engine, token: str) -> Verified | None:
        """The check of a token stored keyed-hashed, on this verifier's own SQLite connection:
        a few tens of microseconds, so the event loop may run it instead of sending the request
        through the thread pool once more (it never waits for a pool's connection, which only
        the event loop gives back). None where this cannot answer: PostgreSQL (a round trip),
        an in-memory database, or a token still stored argon2-hashed (seconds: for a thread)."""
        side = self._side_engine(engine)
        if side is None:
            return None
        with side.connect() as conn:
            return self._verify(conn, token, slow=False)

    def _side_engine(self, engine: Engine) -> Engine | None:
        if self._side is None:
            url = engine.url
            if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
                return None
            # One connection is enough (one event loop); a small cache: it reads few pages.
            self._side = make_engine(url.render_as_string(hide_password=False), pool=1, cache_mb=2)
        return self._side

    def _verify(self, conn: Connection, token: str, *, slow: bool) -> Verified | None:
        public_id, _ = split(token)
        rows = conn.execute(_LOOKUP, {"public_id": public_id}).all()
        if not rows:
            raise Unauthenticated("the API token is not known to this node")
        row = rows[0]
        if row.revoked_at is not None:
            raise Unauthenticated("the API token has been revoked")
        if row.expires_at is not None and _aware(row.expires_at) <= datetime.now(UTC):
            raise Unauthenticated("the API token has expired")
        if not row.active:
            raise Unauthenticated("the account of this API token is disabled")
        stored: str = row.secret_hash
        if stored.startswith(MAC_PREFIX):
            key = self._read_key(conn)
            if key is None or not hmac.compare_digest(mac(key, token), stored):
                raise Unauthenticated("the API token is not valid")
            upgrade_from = None
        elif not slow:
            return None
        elif self._argon2_accepts(stored, token):
            upgrade_from = stored
        else:
            raise Unauthenticated("the API token is not valid")
        principal = Principal(
            user_id=row.user_id,
            org_id=row.org_id,
            role=Role(row.role),
            identity_ref=row.identity_ref,
            group_ids=frozenset(r.group_id for r in rows if r.group_id is not None),
            user_name=row.name,
            operator_org=row.operator == row.org_id,
            remote=row.remote_node is not None,
        )
        return Verified(principal, row.token_id, upgrade_from)

    def upgrade(self, session: Session, verified: Verified, token: str) -> None:
        """Store the keyed hash of a token still stored argon2-hashed (the caller commits)."""
        if verified.upgrade_from is None:
            return
        key = self.mac_key(session) or token_key(session)
        session.execute(
            update(ApiToken)
            .where(ApiToken.id == verified.token_id, ApiToken.secret_hash == verified.upgrade_from)
            .values(secret_hash=mac(key, token))
        )

    def mac_key(self, session: Session) -> bytes | None:
        """The node's token key, kept once read (it never changes); None if not made yet."""
        return self._read_key(session.connection())

    def _read_key(self, conn: Connection) -> bytes | None:
        if self._key is None:
            value = conn.scalar(select(NodeSetting.value).where(NodeSetting.key == TOKEN_KEY))
            if value is not None:
                self._key = bytes.fromhex(value)
        return self._key

    def _argon2_accepts(self, stored: str, token: str) -> bool:
        _, secret = split(token)
        key = hashlib.sha256(token.encode()).hexdigest()
        asked = time.monotonic()
        if self._fresh(key, asked, asked):
            return True
        with self._lock:
            lock, waiting = self._flights.setdefault(key, (threading.Lock(), [0]))
            waiting[0] += 1
        try:
            with lock:  # one argon2 per token at a time; the others wait for its answer
                if self._fresh(key, asked, time.monotonic()):
                    return True
                try:
                    self.hasher.verify(stored, secret)
                except (VerificationError, InvalidHashError):
                    return False
                with self._lock:
                    if len(self._ok) > 10_000:
                        self._ok.clear()
                    self._ok[key] = time.monotonic()
                return True
        finally:
            with self._lock:
                waiting[0] -= 1
                if waiting[0] == 0:
                    del self._flights[key]

    def _fresh(self, key: str, asked: float, now: float) -> bool:
        """Accepted by argon2 within the cache time, or since this request asked."""
        with self._lock:
            seen = self._ok.get(key)
        return seen is not None and (seen >= asked or now - seen <= self.cache_seconds)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)
