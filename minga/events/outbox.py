"""Writing events in the change's own transaction, and reading them in commit order.

An event row is written by the same transaction as the change it announces, so a committed
change is never lost and a rolled-back one is never announced. Its `seq` comes from the
store's commit-ordered counter (`minga.intel.positions`): the counter row stays locked until
the transaction ends, so events commit in `seq` order on both backends and a reader that
resumes after the last `seq` it saw misses nothing. Object writes announce a whole batch in
one event (the range of positions they stored), which keeps bulk ingest at one extra row.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from minga.events.models import events
from minga.intel import positions

# Kinds. Object events cover new objects, new versions, revocations and sightings (sightings
# are STIX objects): a consumer reads the stored rows between first_us and last_us.
OBJECTS = "objects.stored"
OBJECTS_DELETED = "objects.deleted"
INGEST_JOB = "ingest.job"
INCIDENT = "incident.updated"


@dataclass(frozen=True)
class Event:
    seq: int
    kind: str
    created_at: datetime
    actor_org_id: int | None
    actor_user_id: int | None
    subject: str | None
    first_us: int | None
    last_us: int | None
    count: int
    payload: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "kind": self.kind,
            "created_at": self.created_at.isoformat(),
            "actor_org_id": self.actor_org_id,
            "subject": self.subject,
            "count": self.count,
            "payload": self.payload,
        }


def emit(
    session: Session,
    kind: str,
    *,
    actor_org_id: int | None = None,
    actor_user_id: int | None = None,
    subject: str | None = None,
    first_us: int | None = None,
    last_us: int | None = None,
    count: int = 1,
    payload: dict[str, Any] | None = None,
) -> int:
    """Write one event in `session`'s transaction (which the caller commits); its `seq`.

    Takes the store's write lock if this transaction does not hold it yet: call it as late in
    the transaction as the change allows, since other writers wait from here to the commit.
    """
    last = positions.lock(session)
    seq = positions.first_free(last)
    session.execute(
        insert(events).values(
            seq=seq,
            kind=kind,
            created_at=datetime.now(UTC),
            actor_org_id=actor_org_id,
            actor_user_id=actor_user_id,
            subject=subject[:200] if subject else None,
            first_us=first_us,
            last_us=last_us,
            count=count,
            payload=orjson.dumps(payload or {}).decode(),
        )
    )
    positions.advance(session, seq)
    session.info["events.emitted"] = True  # wakes this node's stream tailers at commit
    return seq


def _event(row: Any) -> Event:
    created = row.created_at
    if created.tzinfo is None:  # SQLite hands back naive datetimes
        created = created.replace(tzinfo=UTC)
    return Event(
        seq=int(row.seq),
        kind=row.kind,
        created_at=created,
        actor_org_id=row.actor_org_id,
        actor_user_id=row.actor_user_id,
        subject=row.subject,
        first_us=row.first_us,
        last_us=row.last_us,
        count=int(row.count),
        payload=orjson.loads(row.payload) if row.payload else {},
    )


def read_after(
    session: Session, after: int, *, limit: int = 500, kinds: Iterable[str] | None = None
) -> list[Event]:
    """Events committed after position `after`, oldest first, at most `limit`."""
    query = select(events).where(events.c.seq > after).order_by(events.c.seq).limit(limit)
    wanted = list(kinds) if kinds is not None else None
    if wanted is not None:
        query = query.where(events.c.kind.in_(wanted))
    return [_event(row) for row in session.execute(query)]


def last_seq(session: Session) -> int:
    """The newest event's position (0 when there is none): where a new reader starts."""
    return int(session.scalar(select(func.max(events.c.seq))) or 0)
