"""Signing people in: passwords (argon2id), TOTP second factors, recovery codes, rate limits.

No FastAPI here and no commits: the web adapter and the CLI commit. Web sessions live in
`minga.accounts.websessions`, OpenID Connect in `minga.accounts.oidc`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from minga.accounts.models import Credential, RecoveryCode, SigninFailure, User

_HASHER = PasswordHasher()  # argon2id with the library's RFC 9106 low-memory profile
_DUMMY = _HASHER.hash(secrets.token_urlsafe(16))  # verified for unknown names: same cost
TOTP_STEP = 30
RECOVERY_CODES = 10
ISSUER = "Minga"


# --- passwords ---


@cache
def _common() -> frozenset[str]:
    """The 30,000 most common passwords (zxcvbn's list, from leaked password sets)."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def password_problem(password: str, user_name: str, min_length: int) -> str | None:
    """Why a password may not be chosen ("too-short", "common", "name"), or None."""
    if len(password) < min_length:
        return "too-short"
    lowered = password.lower()
    core = lowered.strip("0123456789!@#$%&*.?_- ")  # "iloveyou1234!" is "iloveyou" plus a suffix
    if lowered in _common() or core in _common() or len(set(password)) < 4:
        return "common"
    if user_name and user_name.lower() in lowered:
        return "name"
    return None


def _credential(session: Session, user_id: int) -> Credential:
    cred = session.get(Credential, user_id)
    if cred is None:
        cred = Credential(user_id=user_id, totp_last_step=0, updated_at=datetime.now(UTC))
        session.add(cred)
    return cred


def set_password(session: Session, user_id: int, password: str) -> None:
    """Store a password's argon2id hash (the caller checked `password_problem`)."""
    cred = _credential(session, user_id)
    cred.password_hash = _HASHER.hash(password)
    cred.updated_at = datetime.now(UTC)
    session.flush()


def generate_password() -> str:
    """A password for a person to sign in with once (then they may keep or change it)."""
    return "-".join(secrets.token_urlsafe(6) for _ in range(3))


def check_password(session: Session, user_name: str, password: str) -> User | None:
    """The active user with this name and password, else None (same argon2 cost either way)."""
    user = session.scalar(select(User).where(User.name == user_name))
    cred = session.get(Credential, user.id) if user is not None else None
    stored = cred.password_hash if cred is not None and cred.password_hash else None
    try:
        _HASHER.verify(stored or _DUMMY, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or cred is None or stored is None or not user.active:
        return None
    if _HASHER.check_needs_rehash(stored):
        cred.password_hash = _HASHER.hash(password)
    return user


def has_password(session: Session, user_id: int) -> bool:
    cred = session.get(Credential, user_id)
    return cred is not None and cred.password_hash is not None


# --- TOTP (RFC 6238: SHA-1, 6 digits, 30 s, one step of drift either way) ---


def has_totp(session: Session, user_id: int) -> bool:
    cred = session.get(Credential, user_id)
    return cred is not None and cred.totp_secret is not None


def start_enrolment(session: Session, user_id: int) -> str:
    """The secret offered to the person (kept until they confirm it with a code)."""
    cred = _credential(session, user_id)
    if cred.totp_pending is None:
        cred.totp_pending = pyotp.random_base32(32)
        cred.updated_at = datetime.now(UTC)
        session.flush()
    return cred.totp_pending


def provisioning_uri(secret: str, user_name: str, node_name: str) -> str:
    """The otpauth:// URI an authenticator app reads."""
    return pyotp.TOTP(secret).provisioning_uri(name=user_name, issuer_name=f"{ISSUER} {node_name}")


def _matching_step(secret: str, code: str, now: float) -> int | None:
    code = "".join(code.split())
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = int(now) // TOTP_STEP
    found = None
    for step in (current - 1, current, current + 1):
        if hmac.compare_digest(totp.at(step * TOTP_STEP), code):
            found = step
    return found


def _consume_step(session: Session, user_id: int, step: int) -> bool:
    """Record `step` as used unless it (or a later one) was: a code works once, in any process."""
    done = session.execute(
        update(Credential)
        .where(Credential.user_id == user_id, Credential.totp_last_step < step)
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    session.expire_all()
    return bool(getattr(done, "rowcount", 0) == 1)


def confirm_enrolment(
    session: Session, user_id: int, code: str, now: float | None = None
) -> list[str] | None:
    """Turn the offered secret on if `code` matches it; returns fresh recovery codes."""
    cred = session.get(Credential, user_id)
    if cred is None or cred.totp_pending is None:
        return None
    step = _matching_step(cred.totp_pending, code, time.time() if now is None else now)
    if step is None:
        return None
    cred.totp_secret, cred.totp_pending = cred.totp_pending, None
    cred.totp_last_step = step
    cred.updated_at = datetime.now(UTC)
    session.flush()
    return new_recovery_codes(session, user_id)


def check_second_factor(
    session: Session, user_id: int, code: str, now: float | None = None
) -> str | None:
    """'totp' or 'recovery' if `code` is a fresh TOTP code or an unused recovery code."""
    if not has_totp(session, user_id):
        return None
    if check_totp(session, user_id, code, now):
        return "totp"
    return "recovery" if _use_recovery_code(session, user_id, code) else None


def check_totp(session: Session, user_id: int, code: str, now: float | None = None) -> bool:
    """True if `code` is the app's code for now (give or take a step) and was not used yet."""
    cred = session.get(Credential, user_id)
    if cred is None or cred.totp_secret is None:
        return False
    step = _matching_step(cred.totp_secret, code, time.time() if now is None else now)
    return step is not None and _consume_step(session, user_id, step)


def reset_totp(session: Session, user_id: int) -> None:
    """Forget the second factor and recovery codes: the next sign-in enrols again."""
    cred = _credential(session, user_id)
    cred.totp_secret = cred.totp_pending = None
    cred.updated_at = datetime.now(UTC)
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
    session.flush()


# --- recovery codes: 80 random bits each, shown once, stored as SHA-256 ---

_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i


def _normalise(code: str) -> str:
    return "".join(ch for ch in code.lower() if ch.isalnum())


def _digest(code: str) -> str:
    return hashlib.sha256(b"minga-recovery|" + _normalise(code).encode()).hexdigest()


def new_recovery_codes(session: Session, user_id: int) -> list[str]:
    """Replace the user's recovery codes with fresh ones (returned once, stored hashed)."""
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_ALPHABET) for _ in range(16))
        codes.append("-".join(raw[i : i + 4] for i in range(0, 16, 4)))
    session.add_all(RecoveryCode(user_id=user_id, code_hash=_digest(c)) for c in codes)
    session.flush()
    return codes


def recovery_codes_left(session: Session, user_id: int) -> int:
    stmt = select(func.count()).where(
        RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None)
    )
    return int(session.scalar(stmt) or 0)


def _use_recovery_code(session: Session, user_id: int, code: str) -> bool:
    if len(_normalise(code)) != 16:
        return False
    done = session.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user_id,
            RecoveryCode.code_hash == _digest(code),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=datetime.now(UTC))
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(done, "rowcount", 0) == 1)


# --- rate limits: failures counted in the database, so every process agrees ---


@dataclass(frozen=True, slots=True)
class Limits:
    per_account: int = 5
    per_address: int = 20
    window_seconds: int = 900


def _wait(session: Session, scope: str, key: str, limit: int, window: int, now: datetime) -> int:
    """Seconds until `key` is below `limit` failures again (0: it is now)."""
    since = now - timedelta(seconds=window)
    times = list(
        session.scalars(
            select(SigninFailure.at)
            .where(SigninFailure.scope == scope, SigninFailure.key == key, SigninFailure.at > since)
            .order_by(SigninFailure.at.desc())
            .limit(limit)
        )
    )
    if len(times) < limit:
        return 0
    oldest = _aware(times[-1])
    return max(1, int((oldest + timedelta(seconds=window) - now).total_seconds()) + 1)


def retry_after(
    session: Session, account: str, address: str, limits: Limits, now: datetime | None = None
) -> int:
    """0 if a sign-in may be tried now, else the seconds to wait."""
    now = now or datetime.now(UTC)
    return max(
        _wait(session, "account", account.lower(), limits.per_account, limits.window_seconds, now),
        _wait(session, "address", address, limits.per_address, limits.window_seconds, now),
    )


def record_failure(
    session: Session, account: str, address: str, limits: Limits, now: datetime | None = None
) -> None:
    now = now or datetime.now(UTC)
    session.execute(
        delete(SigninFailure).where(
            SigninFailure.at < now - timedelta(seconds=limits.window_seconds)
        )
    )
    session.add_all(
        [
            SigninFailure(scope="account", key=account.lower()[:200], at=now),
            SigninFailure(scope="address", key=address[:200], at=now),
        ]
    )
    session.flush()


def reset_failures(session: Session, account: str) -> None:
    """A successful sign-in clears the account's count (the address keeps its own)."""
    session.execute(
        delete(SigninFailure).where(
            SigninFailure.scope == "account", SigninFailure.key == account.lower()[:200]
        )
    )


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)
