"""The commit-ordered position of every stored object version: its `date_added` (`added_us`).

Incremental readers (TAXII `added_after`/`next`, the REST cursor, the TAXII puller of another
node) resume from the last position they saw, so a version must never commit *behind* a
position a reader has already passed. Design, the same SQL on both backends:

- One counter row (`stix_positions`). Every object write updates that row before it decides
  anything (which versions exist, which is the latest) and keeps the lock until it commits:
  a row lock on PostgreSQL, the database write lock on SQLite (an UPDATE takes it; SQLite's
  deferred transactions begin at the first write, so the snapshot is fresh when it is held).
- The write then takes positions `max(now, last + 1)` onwards, one µs apart, and stores the
  last one in the row. The next writer can only read the row after this one committed, so
  positions grow in commit order; every reader snapshot holds a prefix of positions.

Why not a reader horizon below every in-flight transaction (pg_snapshot_xmin)? It needs a
per-backend reader side, and any long transaction anywhere in the database (even an idle one
unrelated to objects) holds every reader back. The counter serialises object writers only
from this point to commit (validation and parsing stay parallel); on SQLite writers are
serialised anyway. The same lock makes the latest-version decision race-free.

On SQLite, the threads of one process queue for the lock on a `threading.Lock` first: SQLite's
busy handler polls with sleeps growing to 100 ms, so under many concurrent writes a waiter that
backed off kept losing to newer ones (seconds of p99). Only a transaction that has written
nothing yet queues there (it holds no database lock anyone could be waiting for), so a
transaction that wrote before taking the lock never waits for one that waits on it. The
processes of one node (`minga serve --workers N`, a bulk load beside it) then queue on an
advisory lock of a file beside the database (`flock`, `<database>-writers`), polled every
0.1–2 ms instead of the busy handler's up to 100 ms: two writer processes lost up to half of
their time asleep while the lock was free (see `benchmarks/ingest.py --writers 2`). The kernel
drops the file lock of a process that dies; past `QUEUE_SECONDS` the database's wait takes over.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
import weakref
from typing import Any

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: the database's own busy handler only
    fcntl = None  # type: ignore[assignment]

from sqlalchemy import event, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from minga.intel.models import objects, positions

ROW_ID = 1
QUEUE_SECONDS = 10.0  # SQLite's busy_timeout: past it, the database's own wait takes over
HELD = "minga.positions.queued"  # session.info key: this transaction holds the process's lock
_queues: dict[str, threading.Lock] = {}
_queues_guard = threading.Lock()


def _queue_of(database: str | None) -> threading.Lock:
    """The process's queue of writers to one SQLite file."""
    with _queues_guard:
        return _queues.setdefault(str(database), threading.Lock())


_files: dict[str, tuple[int, int]] = {}  # database -> (pid, descriptor of its `-writers` file)


def _file_of(database: str) -> int | None:
    """This process's descriptor of the database's writer lock file (reopened after a fork:
    a flock belongs to the open file, which a forked child would share with its parent)."""
    pid = os.getpid()
    known = _files.get(database)
    if known is not None and known[0] == pid:
        return known[1]
    try:
        fd = os.open(f"{database}-writers", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError:  # a read-only directory: the database's own wait only
        return None
    _files[database] = (pid, fd)
    return fd


def _lock_file(database: str, deadline: float) -> int | None:
    """Take the node's cross-process writer lock; None if it is unavailable or not had in time."""
    if fcntl is None or (fd := _file_of(database)) is None:
        return None
    pause = 0.0001
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            if time.monotonic() > deadline:
                return None
            time.sleep(pause)
            pause = min(pause * 2, 0.002)
        except OSError:
            return None


def _unlocker(queue: threading.Lock, fd: int | None) -> Any:
    def release() -> None:
        if fd is not None and fcntl is not None:
            with contextlib.suppress(OSError):  # the descriptor was closed under us
                fcntl.flock(fd, fcntl.LOCK_UN)
        queue.release()

    return release


def _release(session: Session, transaction: Any) -> None:
    if transaction.parent is None and (held := session.info.pop(HELD, None)) is not None:
        held()  # releases the queue (a finalizer runs at most once)


def _queue(session: Session) -> None:
    """Wait for this process's other SQLite writers, then for other processes' writers, before
    asking the database for its lock."""
    if HELD in session.info:
        return
    conn = session.connection()
    database = conn.engine.url.database
    if conn.dialect.name != "sqlite" or database in (None, "", ":memory:"):
        return
    if conn.connection.dbapi_connection.in_transaction:  # type: ignore[union-attr]
        return  # it wrote already: it holds the database lock (or waits for it) as before
    queue = _queue_of(database)
    deadline = time.monotonic() + QUEUE_SECONDS
    if not queue.acquire(timeout=QUEUE_SECONDS):
        return
    fd = _lock_file(database, deadline)
    # Released when the transaction ends, or when a session never closed is collected.
    session.info[HELD] = weakref.finalize(session, _unlocker(queue, fd))
    if not event.contains(session, "after_transaction_end", _release):
        event.listen(session, "after_transaction_end", _release)


def lock(session: Session) -> int:
    """Take the store's write lock (held until the transaction ends); the last position given."""
    _queue(session)
    bump = (
        update(positions)
        .where(positions.c.id == ROW_ID)
        .values(last_us=positions.c.last_us)
        .returning(positions.c.last_us)
    )
    last = session.execute(bump).scalar()
    if last is None:  # a store created without the migration's seed row (or emptied)
        seed = session.scalar(select(func.max(objects.c.added_us))) or 0
        dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        session.execute(
            dialect.insert(positions).values(id=ROW_ID, last_us=seed).on_conflict_do_nothing()
        )
        last = session.execute(bump).scalar_one()
    return int(last)


def first_free(last: int) -> int:
    """The first position of a write after `last` (wall-clock µs, so date_added reads as a time)."""
    return max(time.time_ns() // 1000, last + 1)


def advance(session: Session, last: int) -> None:
    """Record the last position this (locked) write used."""
    session.execute(update(positions).where(positions.c.id == ROW_ID).values(last_us=last))
