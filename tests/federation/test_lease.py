"""The node lease: one sync loop per node, whatever the number of processes serving it."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from minga.federation.lease import NodeLease


def test_one_holder_at_a_time_and_a_released_lease_passes_on(
    sessions: sessionmaker[Session],
) -> None:
    first = NodeLease(sessions, "federation-sync", timedelta(seconds=30))
    second = NodeLease(sessions, "federation-sync", timedelta(seconds=30))
    assert first.hold() is True
    assert second.hold() is False
    assert first.hold() is True  # renewing its own lease
    first.release()
    assert second.hold() is True
    assert first.hold() is False


def test_an_expired_lease_is_taken_over(sessions: sessionmaker[Session]) -> None:
    gone = NodeLease(sessions, "federation-sync", timedelta(seconds=-1))  # expired at once
    assert gone.hold() is True
    assert NodeLease(sessions, "federation-sync", timedelta(seconds=30)).hold() is True
