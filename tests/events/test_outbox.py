"""Every committed change writes its event in the same transaction, in commit order."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from minga.events import cursors, outbox
from minga.events.outbox import Event
from minga.intel import service as intel
from minga.intel.models import objects
from minga.policy import Tlp
from tests.conftest import add_member
from tests.factories import indicator, sid


def _events(sessions: sessionmaker[Session]) -> list[Event]:
    with sessions() as s:
        return outbox.read_after(s, 0, limit=1000)


def test_a_write_announces_its_versions_in_one_event(sessions: sessionmaker[Session]) -> None:
    member = add_member(sessions, "CSIRT-CR")
    with sessions() as s:
        intel.create_objects(
            s, member.principal, [indicator(i) for i in range(1, 4)], tlp=Tlp.GREEN
        )
        s.commit()
    [event] = [e for e in _events(sessions) if "indicator" in e.payload.get("types", {})]
    assert event.count == 3
    assert event.actor_org_id == member.org_id
    assert event.payload["types"] == {"indicator": 3}
    with sessions() as s:
        stored = s.scalars(
            select(objects.c.stix_id).where(
                objects.c.added_us.between(event.first_us, event.last_us)
            )
        ).all()
    assert sorted(stored) == sorted(sid("indicator", i) for i in range(1, 4))
    assert event.seq > event.last_us  # after the positions it announces


def test_a_rolled_back_write_announces_nothing(sessions: sessionmaker[Session]) -> None:
    member = add_member(sessions, "CSIRT-CR")
    before = len(_events(sessions))
    with sessions() as s:
        intel.create_objects(s, member.principal, [indicator(1)], tlp=Tlp.GREEN)
        s.rollback()
    assert len(_events(sessions)) == before


def test_revocation_and_deletion_are_events(sessions: sessionmaker[Session]) -> None:
    member = add_member(sessions, "CSIRT-CR")
    with sessions() as s:
        intel.create_objects(s, member.principal, [indicator(1), indicator(2)], tlp=Tlp.GREEN)
        s.commit()
    with sessions() as s:
        intel.revoke(s, member.principal, sid("indicator", 1))
        intel.delete_objects(s, member.principal, sid("indicator", 2))
        s.commit()
    kinds = [(e.kind, e.subject, e.payload.get("revoked")) for e in _events(sessions)]
    assert (outbox.OBJECTS, sid("indicator", 1), 1) in kinds
    assert (outbox.OBJECTS_DELETED, sid("indicator", 2), None) in kinds


def test_concurrent_writers_commit_events_in_seq_order(sessions: sessionmaker[Session]) -> None:
    members = [add_member(sessions, f"ORG-{n}") for n in range(4)]
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            for k in range(5):
                with sessions() as s:
                    item = indicator(100 * n + k + 1)
                    intel.create_objects(s, members[n].principal, [item], tlp=Tlp.GREEN)
                    s.commit()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    found = [e for e in _events(sessions) if "indicator" in e.payload.get("types", {})]
    assert len(found) == 20
    seqs = [e.seq for e in found]
    assert seqs == sorted(seqs) and len(set(seqs)) == 20


def test_a_consumer_reads_each_event_once_and_resumes(sessions: sessionmaker[Session]) -> None:
    member = add_member(sessions, "CSIRT-CR")
    seen: list[int] = []

    def handler(session: Session, batch: list[Event]) -> None:
        seen.extend(e.seq for e in batch)

    for n in range(1, 4):
        with sessions() as s:
            intel.create_objects(s, member.principal, [indicator(n)], tlp=Tlp.GREEN)
            s.commit()
    assert cursors.drain(sessions, "test", handler, batch=2) == len(_events(sessions))
    assert cursors.drain(sessions, "test", handler) == 0
    with sessions() as s:
        intel.create_objects(s, member.principal, [indicator(9)], tlp=Tlp.GREEN)
        s.commit()
    assert cursors.drain(sessions, "test", handler) == 1
    assert seen == sorted(set(seen))


def test_a_failing_handler_moves_no_cursor(sessions: sessionmaker[Session]) -> None:
    member = add_member(sessions, "CSIRT-CR")
    with sessions() as s:
        intel.create_objects(s, member.principal, [indicator(1)], tlp=Tlp.GREEN)
        s.commit()

    def broken(session: Session, batch: list[Event]) -> None:
        raise RuntimeError("webhook table is gone")

    with pytest.raises(RuntimeError):
        cursors.drain(sessions, "flaky", broken)
    seen: list[Event] = []
    cursors.drain(sessions, "flaky", lambda s, b: seen.extend(b))
    assert [e.kind for e in seen] == [e.kind for e in _events(sessions)]


def test_a_new_consumer_may_start_at_the_end(sessions: sessionmaker[Session]) -> None:
    member = add_member(sessions, "CSIRT-CR")
    with sessions() as s:
        intel.create_objects(s, member.principal, [indicator(1)], tlp=Tlp.GREEN)
        s.commit()
    seen: list[Event] = []
    assert cursors.drain(sessions, "late", lambda s, b: seen.extend(b), start_at_end=True) == 0
    with sessions() as s:
        intel.create_objects(s, member.principal, [indicator(2)], tlp=Tlp.GREEN)
        s.commit()
    cursors.drain(sessions, "late", lambda s, b: seen.extend(b), start_at_end=True)
    assert [e.subject for e in seen] == [sid("indicator", 2)]
