"""API tokens: a keyed hash for new ones; argon2-hashed ones keep working, are upgraded at first
use, and never run argon2 more than once at a time for one token."""

from __future__ import annotations

import hashlib
import threading
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from minga.accounts import service as accounts
from minga.accounts.models import ApiToken
from minga.accounts.tokens import MAC_PREFIX, TokenVerifier, split
from minga.errors import Unauthenticated
from tests.conftest import Member, add_member

CHEAP = {"time_cost": 1, "memory_cost": 1024, "parallelism": 1}


class CountingHasher(PasswordHasher):
    """argon2 itself, counting how often it verifies."""

    def __init__(self) -> None:
        super().__init__(**CHEAP)
        self.calls = 0
        self._lock = threading.Lock()

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        with self._lock:
            self.calls += 1
        # As slow as argon2 at its real cost, so that the other requests arrive while it runs
        # (with one check per token, the count is 1 however they arrive).
        time.sleep(0.2)
        return super().verify(hash, password)


def legacy_token(sessions: sessionmaker[Session], member: Member) -> str:
    """A token stored the way nodes stored them before keyed hashes: argon2 of its secret."""
    token = "mg_0123456789ab_" + "legacy-secret-" * 3
    with sessions() as s:
        s.add(
            ApiToken(
                public_id=split(token)[0],
                user_id=member.user_id,
                label="from an older node",
                secret_hash=PasswordHasher(**CHEAP).hash(split(token)[1]),
                created_at=datetime.now(UTC),
            )
        )
        s.commit()
    return token


def stored_hash(sessions: sessionmaker[Session], token: str) -> str:
    with sessions() as s:
        found = s.scalar(select(ApiToken.secret_hash).where(ApiToken.public_id == split(token)[0]))
    assert found is not None
    return found


def test_new_tokens_are_stored_as_a_keyed_hash(client: TestClient, sessions: sessionmaker[Session]):
    member = add_member(sessions, "Org A")
    assert stored_hash(sessions, member.token).startswith(MAC_PREFIX)
    assert client.get("/api/objects", headers=member.headers).status_code == 200
    forged = member.token[:-1] + ("A" if member.token[-1] != "A" else "B")
    r = client.get("/api/objects", headers={"Authorization": f"Bearer {forged}"})
    assert r.status_code == 401


def test_an_argon2_token_works_and_is_upgraded_at_first_use(
    client: TestClient, sessions: sessionmaker[Session]
):
    member = add_member(sessions, "Org A")
    token = legacy_token(sessions, member)
    headers = {"Authorization": f"Bearer {token}"}
    assert stored_hash(sessions, token).startswith("$argon2")

    wrong = {"Authorization": f"Bearer {token}x"}
    assert client.get("/api/objects", headers=wrong).status_code == 401
    assert stored_hash(sessions, token).startswith("$argon2")  # a failed check changes nothing

    assert client.get("/api/objects", headers=headers).status_code == 200
    assert stored_hash(sessions, token).startswith(MAC_PREFIX)
    assert client.get("/api/objects", headers=headers).status_code == 200
    assert client.get("/api/objects", headers=wrong).status_code == 401

    with sessions() as s:
        accounts.revoke_token(s, None, split(token)[0])
        s.commit()
    assert client.get("/api/objects", headers=headers).status_code == 401  # at once


def test_an_expired_entry_runs_argon2_once_for_many_concurrent_requests(
    sessions: sessionmaker[Session],
):
    member = add_member(sessions, "Org A")
    token = legacy_token(sessions, member)
    hasher = CountingHasher()
    verifier = TokenVerifier(cache_seconds=60, hasher=hasher)
    # It was checked long ago: the entry has expired.
    verifier._ok[hashlib.sha256(token.encode()).hexdigest()] = time.monotonic() - 3600
    start = threading.Barrier(8)
    answers: list[Any] = []

    def request() -> None:
        with sessions() as s:  # nothing is committed: every request still finds argon2
            start.wait()
            try:
                answers.append(verifier.verify(s, token).principal.user_id)
            except Exception as exc:
                answers.append(exc)

    threads = [threading.Thread(target=request) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert answers == [member.user_id] * 8
    assert hasher.calls == 1
    assert verifier._flights == {}  # nothing left behind


def test_the_event_loop_check_answers_keyed_hashes_on_sqlite_only(
    engine: Engine, sessions: sessionmaker[Session]
):
    member = add_member(sessions, "Org A")
    legacy = legacy_token(sessions, member)
    verifier = TokenVerifier(cache_seconds=60, hasher=CountingHasher())
    here = verifier.verify_here(engine, member.token)
    if engine.dialect.name == "sqlite":
        assert here is not None
        assert here.principal.user_id == member.user_id
        assert here.principal.org_id == member.org_id
        with pytest.raises(Unauthenticated):
            # Another last character (a secret ending in "0" would have come back unchanged).
            verifier.verify_here(
                engine, member.token[:-1] + ("1" if member.token[-1] == "0" else "0")
            )
        with sessions() as s:
            accounts.revoke_token(s, None, split(member.token)[0])
            s.commit()
        with pytest.raises(Unauthenticated, match="revoked"):  # at once: nothing is cached
            verifier.verify_here(engine, member.token)
    else:  # a round trip to PostgreSQL is not for the event loop
        assert here is None
    # A token still stored argon2-hashed is left to a thread: no argon2 here.
    assert verifier.verify_here(engine, legacy) is None
    assert verifier.hasher.calls == 0  # type: ignore[attr-defined]
