"""One holder per node for a background loop: the lease is taken, renewed, refused to a second
holder while alive, taken over once expired, and released. Both backends."""

from __future__ import annotations

import time

from sqlalchemy.orm import Session, sessionmaker

from minga.db import unit_of_work
from minga.federation import loop_lease


def take(sessions: sessionmaker[Session], holder: str, seconds: float) -> bool:
    with unit_of_work(sessions) as session:
        return loop_lease.acquire(session, "test-loop", holder, seconds)


def test_one_holder_at_a_time_until_the_lease_expires(sessions: sessionmaker[Session]):
    first, second = loop_lease.new_holder(), loop_lease.new_holder()
    assert first != second
    assert take(sessions, first, 60)
    assert take(sessions, first, 60)  # renewed by its holder
    assert not take(sessions, second, 60)
    assert take(sessions, first, 0.001)  # the holder stops renewing: it lapses
    time.sleep(0.01)
    assert take(sessions, second, 60)  # taken over
    assert not take(sessions, first, 60)
    with unit_of_work(sessions) as session:
        loop_lease.release(session, "test-loop", first)  # not the holder: nothing happens
    assert not take(sessions, first, 60)
    with unit_of_work(sessions) as session:
        loop_lease.release(session, "test-loop", second)
    assert take(sessions, first, 60)


def test_leases_of_different_loops_are_independent(sessions: sessionmaker[Session]):
    a, b = loop_lease.new_holder(), loop_lease.new_holder()
    with unit_of_work(sessions) as session:
        assert loop_lease.acquire(session, "one", a, 60)
        assert loop_lease.acquire(session, "two", b, 60)
        assert not loop_lease.acquire(session, "two", a, 60)
