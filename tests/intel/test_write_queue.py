"""The process's queue of SQLite writers in front of the store's write lock (`positions.lock`)."""

from __future__ import annotations

import gc
import subprocess
import sys
import threading

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from minga.intel import positions
from minga.intel.models import positions as positions_table


@pytest.fixture
def sqlite_sessions(sessions: sessionmaker[Session], db_url: str) -> sessionmaker[Session]:
    if not db_url.startswith("sqlite"):
        pytest.skip("the queue is for SQLite's writers; PostgreSQL queues on the row lock")
    return sessions


def _queue(sessions: sessionmaker[Session]) -> threading.Lock:
    with sessions() as s:
        return positions._queue_of(s.connection().engine.url.database)


@pytest.mark.parametrize("end", ["commit", "rollback", "close"])
def test_the_queue_is_held_from_the_lock_to_the_end_of_the_transaction(
    sqlite_sessions: sessionmaker[Session], end: str
):
    queue = _queue(sqlite_sessions)
    s = sqlite_sessions()
    first = positions.lock(s)
    assert positions.lock(s) == first  # taken again in the same transaction: no wait
    assert queue.locked()
    s.flush()
    assert queue.locked()  # a flush does not end the transaction
    getattr(s, end)()
    assert not queue.locked()
    if end != "close":
        positions.lock(s)  # the session's next transaction queues again
        assert queue.locked()
        s.rollback()
        assert not queue.locked()
    s.close()


def test_a_session_never_closed_gives_the_queue_back_when_collected(
    sqlite_sessions: sessionmaker[Session],
):
    queue = _queue(sqlite_sessions)
    s = sqlite_sessions()
    positions.lock(s)
    assert queue.locked()
    s.connection().connection.dbapi_connection.rollback()  # type: ignore[union-attr]
    del s
    gc.collect()
    assert not queue.locked()


def test_a_transaction_that_wrote_already_does_not_queue(sqlite_sessions: sessionmaker[Session]):
    queue = _queue(sqlite_sessions)
    with sqlite_sessions() as s:
        s.execute(update(positions_table).values(last_us=positions_table.c.last_us))
        positions.lock(s)
        assert positions.HELD not in s.info
        assert not queue.locked()
        s.commit()


def test_writers_of_one_process_take_the_lock_one_after_the_other(
    sqlite_sessions: sessionmaker[Session],
):
    order: list[str] = []
    waiting = threading.Event()

    def second() -> None:
        with sqlite_sessions() as s:
            waiting.set()
            last = positions.lock(s)
            order.append("second locked")
            positions.advance(s, last + 1)
            s.commit()

    with sqlite_sessions() as s:
        last = positions.lock(s)
        thread = threading.Thread(target=second)
        thread.start()
        waiting.wait()
        positions.advance(s, last + 1)
        order.append("first commits")
        s.commit()
    thread.join()
    assert order == ["first commits", "second locked"]
    with sqlite_sessions() as s:
        assert positions.lock(s) == last + 2  # the second saw the first's position


def _other_process_may_lock(path: str) -> bool:
    """Whether another process gets the node's writer file lock right now."""
    probe = (
        "import fcntl, os, sys\n"
        "fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)\n"
        "try:\n    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)\nexcept BlockingIOError:\n"
        "    sys.exit(3)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe, path], check=False)
    assert done.returncode in (0, 3), done
    return done.returncode == 0


def test_writer_processes_queue_on_a_file_lock_beside_the_database(
    sqlite_sessions: sessionmaker[Session],
):
    with sqlite_sessions() as s:
        path = f"{s.connection().engine.url.database}-writers"
        positions.lock(s)
        assert not _other_process_may_lock(path)  # held from the lock ...
        s.commit()
    assert _other_process_may_lock(path)  # ... to the end of the transaction


def test_a_writer_waits_while_another_process_holds_the_file_lock(
    sqlite_sessions: sessionmaker[Session],
):
    with sqlite_sessions() as s:
        path = f"{s.connection().engine.url.database}-writers"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, path], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b"held\n"
        order: list[str] = []

        def writer() -> None:
            with sqlite_sessions() as s:
                positions.lock(s)
                order.append("locked")
                s.commit()

        thread = threading.Thread(target=writer)
        thread.start()
        thread.join(0.3)
        assert order == []  # still waiting for the other process
        order.append("other process releases")
        assert holder.stdin is not None
        holder.stdin.close()  # it releases its lock and exits
        thread.join(10)
        assert order == ["other process releases", "locked"]
    finally:
        holder.kill()
        holder.wait()


HOLD = (
    "import fcntl, os, sys\n"
    "fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)\n"
    "fcntl.flock(fd, fcntl.LOCK_EX)\n"
    "print('held', flush=True)\n"
    "sys.stdin.read()\n"
)
