"""Named consumers of the outbox and how far each has read.

`drain` hands a consumer the events after its cursor, a batch at a time, and moves the cursor
in the same transaction as whatever the handler wrote: a crash between the two replays the
batch (at least once), so handlers are idempotent (they record what they did keyed by `seq`).
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from minga.events.models import event_cursors
from minga.events.outbox import Event, last_seq, read_after

Handler = Callable[[Session, list[Event]], None]


def position(session: Session, name: str, *, start_at_end: bool = False) -> int:
    """Where consumer `name` has read up to; a new consumer starts at 0 (or at the end)."""
    seq = session.scalar(select(event_cursors.c.seq).where(event_cursors.c.name == name))
    if seq is not None:
        return int(seq)
    start = last_seq(session) if start_at_end else 0
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.execute(
        dialect.insert(event_cursors).values(name=name, seq=start).on_conflict_do_nothing()
    )
    return int(session.scalar(select(event_cursors.c.seq).where(event_cursors.c.name == name)) or 0)


def advance(session: Session, name: str, seq: int) -> None:
    session.execute(
        update(event_cursors)
        .where(event_cursors.c.name == name, event_cursors.c.seq < seq)
        .values(seq=seq)
    )


def _claim(session: Session, name: str) -> int:
    """Lock consumer `name`'s cursor row for this transaction (another process draining the same
    consumer waits here) and return it."""
    bump = (
        update(event_cursors)
        .where(event_cursors.c.name == name)
        .values(seq=event_cursors.c.seq)
        .returning(event_cursors.c.seq)
    )
    return int(session.execute(bump).scalar_one())


def drain(
    sessions: sessionmaker[Session],
    name: str,
    handler: Handler,
    *,
    batch: int = 500,
    kinds: list[str] | None = None,
    start_at_end: bool = False,
) -> int:
    """Run `handler` over every event after `name`'s cursor; how many events it was given.

    Each batch runs in one transaction that holds the consumer's cursor row: handlers write
    rows only (a delivery to make, a notification to send) and leave network work to the
    senders that read those rows, so the lock is short.
    """
    with sessions() as session:
        position(session, name, start_at_end=start_at_end)
        session.commit()
    handled = 0
    while True:
        with sessions() as session:
            after = _claim(session, name)
            found = read_after(session, after, limit=batch, kinds=kinds)
            if not found:
                session.rollback()
                return handled
            handler(session, found)
            advance(session, name, found[-1].seq)
            session.commit()
        handled += len(found)
        if len(found) < batch:
            return handled
