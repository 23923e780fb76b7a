"""What a per-user stream says: a batch of outbox events turned into one reader's messages.

`load` reads everything a batch needs to decide who sees what (object versions, the current
marking of each incident, of each object a notification names) ONCE; `messages` then decides
per reader with the pure policy functions, so a thousand subscribers cost one set of queries
per batch. Who sees what, by kind:

- object versions, revocations, sightings: `policy.may_see` on the stored version's marking;
- an ingest job's outcome: the user who queued it;
- an incident update: whoever `policy.may_see_incident` lets see the incident now;
- a notification: its recipient (the user, or every user of the organisation), if they may
  still see the object it names.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from minga.errors import MingaError
from minga.events import items, outbox
from minga.events.outbox import Event
from minga.events.watch import Watchlist
from minga.intel.models import object_groups, objects
from minga.policy import (
    TLP_RANK,
    IncidentMarking,
    Marking,
    Principal,
    Reach,
    Tlp,
    is_notified,
    may_hear_job,
    may_see,
    may_see_incident,
)

NOTIFICATION = "notification"  # written by the notify consumers (constituency, watch lists)
JOB = "job"
INCIDENT = "incident"
# The `event:` names of the messages a stream carries.
EVENTS = (items.OBJECT, items.REVOKED, items.SIGHTING, JOB, INCIDENT, NOTIFICATION)
STIX_TYPE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


class BadFilter(MingaError):
    """A stream filter that cannot be understood (answered with a 400)."""

    code = "bad_filter"


@dataclass(frozen=True)
class StreamFilters:
    """What a reader asked for: which messages, and the object filters of `items.Filters`."""

    events: frozenset[str] = frozenset(EVENTS)
    objects: items.Filters = field(default_factory=items.Filters)
    # `watched=true`: only objects the reader's watch list answers (`minga.events.watch`);
    # notifications (watch hits from other countries included) still come.
    watchlist: Watchlist | None = None

    def watched(self, item: items.Item) -> bool:
        return self.watchlist is None or self.watchlist.matches(item)

    def tlp_ok(self, tlp: Tlp | None) -> bool:
        limit = self.objects.max_tlp
        return limit is None or tlp is None or TLP_RANK[tlp] <= TLP_RANK[limit]


def _words(values: Iterable[str]) -> list[str]:
    return [w.strip() for v in values for w in v.split(",") if w.strip()]


def parse_filters(
    *,
    events: Iterable[str] = (),
    types: Iterable[str] = (),
    max_tlp: str | None = None,
    min_score: str | None = None,
) -> StreamFilters:
    """Filters from query values (repeated or comma-separated); `BadFilter` names a bad one."""
    wanted = _words(events)
    unknown = [e for e in wanted if e not in EVENTS]
    if unknown:
        raise BadFilter(f"unknown event {unknown[0]!r}: one of {', '.join(EVENTS)}")
    stix_types = [t.lower() for t in _words(types)]
    bad = [t for t in stix_types if not STIX_TYPE.match(t)]
    if bad:
        raise BadFilter(f"{bad[0]!r} is not a STIX type (such as indicator or malware)")
    tlp: Tlp | None = None
    if max_tlp:
        try:
            tlp = Tlp(max_tlp.strip().lower().removeprefix("tlp:"))
        except ValueError:
            names = ", ".join(t.value for t in Tlp)
            raise BadFilter(f"unknown TLP {max_tlp!r} for max_tlp: one of {names}") from None
    score: int | None = None
    if min_score:
        try:
            score = int(min_score)
        except ValueError:
            message = f"min_score is a whole number from 0 to 100, not {min_score!r}"
            raise BadFilter(message) from None
        if not 0 <= score <= 100:
            raise BadFilter(f"min_score is a whole number from 0 to 100, not {score}")
    return StreamFilters(
        events=frozenset(wanted) if wanted else frozenset(EVENTS),
        objects=items.Filters(types=frozenset(stix_types), max_tlp=tlp, min_score=score),
    )


@dataclass(frozen=True)
class Message:
    """One SSE message: its `id:` (the event's seq), `event:` and JSON `data:`."""

    seq: int
    event: str
    data: dict[str, Any]

    def encode(self) -> bytes:
        body = orjson.dumps(self.data).decode()
        return f"id: {self.seq}\nevent: {self.event}\ndata: {body}\n\n".encode()


@dataclass(frozen=True)
class Batch:
    """A run of outbox events with what deciding their readers needs, read once."""

    events: list[Event]
    items: dict[int, list[items.Item]] = field(default_factory=dict)  # by event seq
    incidents: dict[int, IncidentMarking] = field(default_factory=dict)  # by incident id
    markings: dict[str, Marking] = field(default_factory=dict)  # notified objects, newest
    # What the batch says to each (principal, filters), encoded: readers of one person with
    # the same filters (a person's tabs, a service's connections) share the work.
    rendered: dict[tuple[Principal, StreamFilters], bytes] = field(
        default_factory=dict, compare=False, repr=False
    )

    @property
    def last(self) -> int:
        return self.events[-1].seq if self.events else 0

    def body_for(self, principal: Principal, filters: StreamFilters, after: int) -> bytes:
        """The SSE bytes of `messages` (cached when the reader takes the whole batch)."""
        if not self.events or after >= self.events[0].seq:
            return b"".join(m.encode() for m in messages(principal, filters, self, after=after))
        key = (principal, filters)
        found = self.rendered.get(key)
        if found is None:
            found = b"".join(m.encode() for m in messages(principal, filters, self))
            self.rendered[key] = found
        return found


def _incident_id(event: Event) -> int | None:
    found = event.payload.get("incident_id")
    return found if isinstance(found, int) else None


def _incident_markings(session: Session, ids: set[int]) -> dict[int, IncidentMarking]:
    from minga.incidents.models import Incident, IncidentOrg

    if not ids:
        return {}
    named: dict[int, set[int]] = defaultdict(set)
    query = select(IncidentOrg.incident_id, IncidentOrg.org_id)
    for row in session.execute(query.where(IncidentOrg.incident_id.in_(ids))):
        named[row.incident_id].add(row.org_id)
    rows = session.execute(
        select(Incident.id, Incident.org_id, Incident.tlp).where(Incident.id.in_(ids))
    )
    return {
        r.id: IncidentMarking(r.org_id, Tlp(r.tlp), frozenset(named.get(r.id, ()))) for r in rows
    }


def _object_markings(session: Session, stix_ids: set[str]) -> dict[str, Marking]:
    if not stix_ids:
        return {}
    rows = session.execute(
        select(
            objects.c.pk,
            objects.c.stix_id,
            objects.c.owner_org_id,
            objects.c.tlp,
            objects.c.reach,
            objects.c.has_groups,
        ).where(objects.c.stix_id.in_(stix_ids), objects.c.is_latest.is_(True))
    ).all()
    groups: dict[int, set[int]] = defaultdict(set)
    grouped = [r.pk for r in rows if r.has_groups]
    if grouped:
        query = select(object_groups).where(object_groups.c.object_pk.in_(grouped))
        for link in session.execute(query):
            groups[link.object_pk].add(link.group_id)
    return {
        r.stix_id: Marking(
            r.owner_org_id, Tlp(r.tlp), Reach(r.reach), frozenset(groups.get(r.pk, ()))
        )
        for r in rows
    }


def load(session: Session, events: list[Event]) -> Batch:
    """Everything `messages` needs for `events`, in a handful of queries."""
    by_seq: dict[int, list[items.Item]] = defaultdict(list)
    for item in items.load(session, events):
        by_seq[item.seq].append(item)
    incident_ids = {i for e in events if e.kind == outbox.INCIDENT and (i := _incident_id(e))}
    notified = {
        str(e.payload["object_id"])
        for e in events
        if e.kind == NOTIFICATION and e.payload.get("object_id")
    }
    return Batch(
        events=events,
        items=dict(by_seq),
        incidents=_incident_markings(session, incident_ids),
        markings=_object_markings(session, notified),
    )


def read(session: Session, after: int, limit: int = 500) -> Batch:
    return load(session, outbox.read_after(session, after, limit=limit))


def _tlp(value: object) -> Tlp | None:
    try:
        return Tlp(str(value).lower().removeprefix("tlp:"))
    except ValueError:
        return None


def _is_recipient(principal: Principal, payload: dict[str, Any]) -> bool:
    org, user = payload.get("recipient_org_id"), payload.get("recipient_user_id")
    return is_notified(
        principal, org if isinstance(org, int) else None, user if isinstance(user, int) else None
    )


def _of_event(principal: Principal, f: StreamFilters, batch: Batch, e: Event) -> list[Message]:
    """The messages one event makes for one reader (none when it may not see it)."""
    if e.kind == outbox.OBJECTS:
        seen = items.visible(principal, batch.items.get(e.seq, ()), f.objects)
        return [
            Message(e.seq, i.what, i.as_json()) for i in seen if i.what in f.events and f.watched(i)
        ]
    if e.kind == outbox.INGEST_JOB:
        if JOB not in f.events or not may_hear_job(principal, e.actor_user_id):
            return []
        job = e.subject.removeprefix("ingest-job:") if e.subject else None
        data = {"seq": e.seq, "event": JOB, "job_id": int(job) if job and job.isdigit() else None}
        return [Message(e.seq, JOB, {**data, "at": e.created_at.isoformat(), **e.payload})]
    if e.kind == outbox.INCIDENT:
        incident_id = _incident_id(e)
        marking = batch.incidents.get(incident_id) if incident_id is not None else None
        if INCIDENT not in f.events or marking is None or not f.tlp_ok(marking.tlp):
            return []
        if not may_see_incident(principal, marking):
            return []
        data = {"seq": e.seq, "event": INCIDENT, "at": e.created_at.isoformat(), **e.payload}
        return [Message(e.seq, INCIDENT, {**data, "tlp": marking.tlp.value})]
    if e.kind == NOTIFICATION:
        if NOTIFICATION not in f.events or not _is_recipient(principal, e.payload):
            return []
        if not f.tlp_ok(_tlp(e.payload.get("tlp"))):
            return []
        object_id = e.payload.get("object_id")
        if object_id:
            named = batch.markings.get(str(object_id))
            if named is None or not may_see(principal, named):
                return []
        data = {"seq": e.seq, "event": NOTIFICATION, "at": e.created_at.isoformat()}
        return [Message(e.seq, NOTIFICATION, {**data, **e.payload})]
    return []  # deletions and kinds no stream carries


def messages(
    principal: Principal, filters: StreamFilters, batch: Batch, *, after: int = 0
) -> list[Message]:
    """What `principal` may see of `batch` and asked for, skipping events up to `after`."""
    found: list[Message] = []
    for event in batch.events:
        if event.seq > after:
            found.extend(_of_event(principal, filters, batch, event))
    return found
