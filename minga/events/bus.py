"""The event bus on NATS JetStream (`MINGA_EVENT_BUS=nats://host:4222`), for nodes that one
process cannot carry.

Streams (names start with `MINGA_EVENT_BUS_PREFIX`, "minga" below):
- `minga_EVENTS`, subjects `minga.events.<kind>` (`minga.events.objects.stored`, ...): the
  outbox, copied in `seq` order by the relay (`minga.events.relay`, one per node under a
  lease), each message carrying `Nats-Msg-Id` = its seq, so a relay that stops between a
  publish and its cursor commit publishes nothing twice (JetStream drops the duplicate).
- `minga_JOBS`, subject `minga.jobs.ingest` (work-queue retention): the id of each ingest job
  queued while the bus is set, published by the relay from the job's `ingest.queued` event
  (written in the job's own transaction, so no queued job is lost), consumed by `minga worker`.
- `minga_DEAD`, subjects `minga.dead.<consumer>`: what failed `MINGA_EVENT_BUS_MAX_DELIVERIES`
  times, kept with headers saying which consumer, why, and where it came from.

Consumers are durable pull consumers: any number of `minga worker` processes, on any machine,
fetch from the same consumer and share its messages; a message is acknowledged after its
handler committed, so a worker killed mid-message loses nothing (after
`MINGA_EVENT_BUS_ACK_SECONDS` NATS hands it to another worker).

The registry: a domain that reacts to events declares a consumer once, at import of its module
(listed in `BUILTIN` so `minga worker` imports it)::

    register_consumer("webhooks", "objects.stored", queue_deliveries)
    register_consumer("event-counts", ">", count_events, ordered=True)

`name` is the durable consumer's name (letters, digits, - and _); `subject_filter` is a kind
pattern under `minga.events.` with NATS wildcards (`*` one token, `>` the rest); `handler` is a
`minga.events.cursors.Handler` — `handler(session, events)` writes rows in the transaction the
worker commits before it acks, the same contract as `cursors.drain`, so one handler runs on the
bus or, without it, in-process (`embedded`). Delivery is at least once: handlers are idempotent
(keyed by `Event.seq`). With `ordered=True` one worker at a time fetches the consumer (a
node lease; another takes over within 20 s if it dies) and one batch is in flight (in seq
order, redeliveries first); otherwise batches run in parallel on every worker, in any order. A
batch whose handler raises is tried again one event at a time, so only the event that fails is
retried (with backoff) and, past the last delivery, dead-lettered.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import nats
import orjson
from nats.aio.client import Client
from nats.js import JetStreamContext, api
from nats.js.errors import BadRequestError, NotFoundError
from sqlalchemy.orm import Session, sessionmaker

from minga.background import Periodic
from minga.errors import MingaError
from minga.events import cursors, outbox
from minga.events.cursors import Handler
from minga.events.outbox import Event
from minga.settings import Settings

log = logging.getLogger("minga.events")

# Modules that register consumers; `minga worker` imports them before it starts.
BUILTIN = ("minga.events.counts", "minga.events.notify_bus")
INGEST_QUEUED = "ingest.queued"  # an outbox kind: a job to run, relayed to the jobs stream
EVENTS_MAX_AGE = 7 * 24 * 3600.0  # seconds an event stays in the stream for late consumers
DEDUPE_WINDOW = 120.0  # seconds JetStream remembers a Nats-Msg-Id
NAME = re.compile(r"^[A-Za-z0-9_-]{1,60}$")
CONNECT_TIMEOUT = 3.0


class BusUnavailable(MingaError):
    """NATS cannot be reached, or refused what the node asked of it."""


@dataclass(frozen=True)
class Consumer:
    name: str
    subject_filter: str
    handler: Handler
    ordered: bool = False
    batch: int = 100

    def matches(self, kind: str) -> bool:
        return subject_matches(self.subject_filter, kind)


_registry: dict[str, Consumer] = {}


def register_consumer(
    name: str, subject_filter: str, handler: Handler, *, ordered: bool = False, batch: int = 100
) -> Consumer:
    """Declare an event consumer (see the module docstring); registering a name again
    replaces it (a module imported twice, a test)."""
    if not NAME.match(name):
        raise ValueError(f"consumer name {name!r}: use letters, digits, - and _")
    if not subject_filter or any(not t for t in subject_filter.split(".")):
        raise ValueError(f"consumer {name}: {subject_filter!r} is not a subject filter")
    consumer = Consumer(name, subject_filter, handler, ordered, batch)
    _registry[name] = consumer
    return consumer


def unregister_consumer(name: str) -> None:
    _registry.pop(name, None)


def registered() -> list[Consumer]:
    """Every declared consumer, the built-in modules imported first."""
    for module in BUILTIN:
        importlib.import_module(module)
    return sorted(_registry.values(), key=lambda c: c.name)


def subject_matches(pattern: str, kind: str) -> bool:
    """Whether event kind `kind` (dotted) falls under NATS subject pattern `pattern`."""
    want, have = pattern.split("."), kind.split(".")
    for i, token in enumerate(want):
        if token == ">":
            return len(have) > i
        if i >= len(have) or (token != "*" and token != have[i]):
            return False
    return len(want) == len(have)


@dataclass(frozen=True)
class Names:
    """Subjects and stream names of one node on the bus."""

    prefix: str

    @property
    def events_stream(self) -> str:
        return f"{self.prefix}_EVENTS"

    @property
    def jobs_stream(self) -> str:
        return f"{self.prefix}_JOBS"

    @property
    def dead_stream(self) -> str:
        return f"{self.prefix}_DEAD"

    def event(self, kind: str) -> str:
        return f"{self.prefix}.events.{kind}"

    @property
    def ingest_jobs(self) -> str:
        return f"{self.prefix}.jobs.ingest"

    def dead(self, consumer: str) -> str:
        return f"{self.prefix}.dead.{consumer}"

    @property
    def relay_cursor(self) -> str:
        return f"nats-relay:{self.prefix}"[:80]


def names(settings: Settings) -> Names:
    return Names(settings.event_bus_prefix)


async def connect(settings: Settings, *, name: str = "minga") -> Client:
    """A connection to the bus; BusUnavailable (one sentence) if NATS does not answer."""
    url = settings.event_bus
    if not url.startswith(("nats://", "tls://")):
        raise BusUnavailable(f"MINGA_EVENT_BUS must be a nats:// URL, not {url!r}")

    async def said(exc: Exception) -> None:  # one line, not the client's traceback
        log.warning("NATS at %s: %s", url, exc or type(exc).__name__)

    # Once connected, reconnect for ever (a NATS restart); the first connection is bounded.
    first = nats.connect(
        url,
        name=name,
        connect_timeout=CONNECT_TIMEOUT,
        reconnect_time_wait=1,
        max_reconnect_attempts=-1,
        error_cb=said,
    )
    try:
        return await asyncio.wait_for(first, 2 * CONNECT_TIMEOUT)
    except Exception as exc:
        why = str(exc) or "no answer in time"
        raise BusUnavailable(f"NATS at {url} cannot be reached ({why})") from exc


async def ensure_streams(js: JetStreamContext, n: Names) -> None:
    """Create this node's streams if they are missing (their settings are left alone)."""
    wanted = [
        api.StreamConfig(
            name=n.events_stream,
            subjects=[f"{n.prefix}.events.>"],
            retention=api.RetentionPolicy.LIMITS,
            max_age=EVENTS_MAX_AGE,
            duplicate_window=DEDUPE_WINDOW,
        ),
        api.StreamConfig(
            name=n.jobs_stream,
            subjects=[f"{n.prefix}.jobs.>"],
            retention=api.RetentionPolicy.WORK_QUEUE,
            duplicate_window=DEDUPE_WINDOW,
        ),
        api.StreamConfig(
            name=n.dead_stream,
            subjects=[f"{n.prefix}.dead.>"],
            retention=api.RetentionPolicy.LIMITS,
        ),
    ]
    for config in wanted:
        assert config.name is not None
        try:
            await js.stream_info(config.name)
        except NotFoundError:
            try:
                await js.add_stream(config)
            except BadRequestError:  # another process made it first
                await js.stream_info(config.name)


async def delete_streams(js: JetStreamContext, n: Names) -> None:
    """Remove this node's streams (tests, and a node leaving the bus)."""
    for stream in (n.events_stream, n.jobs_stream, n.dead_stream):
        with contextlib.suppress(NotFoundError):
            await js.delete_stream(stream)


def encode(event: Event) -> bytes:
    body = event.as_json()
    body.update(actor_user_id=event.actor_user_id, first_us=event.first_us, last_us=event.last_us)
    return orjson.dumps(body)


def decode(data: bytes) -> Event:
    body: dict[str, Any] = orjson.loads(data)
    created = datetime.fromisoformat(body["created_at"])
    return Event(
        seq=int(body["seq"]),
        kind=str(body["kind"]),
        created_at=created if created.tzinfo else created.replace(tzinfo=UTC),
        actor_org_id=body.get("actor_org_id"),
        actor_user_id=body.get("actor_user_id"),
        subject=body.get("subject"),
        first_us=body.get("first_us"),
        last_us=body.get("last_us"),
        count=int(body.get("count", 1)),
        payload=body.get("payload") or {},
    )


def announce_job(session: Session, job_id: int, actor_org_id: int | None = None) -> int:
    """Queue ingest job `job_id` on the bus: an outbox event in the job's own transaction, which
    the relay turns into a message on the jobs stream once it commits."""
    return outbox.emit(
        session,
        INGEST_QUEUED,
        actor_org_id=actor_org_id,
        subject=f"ingest-job:{job_id}",
        payload={"job_id": job_id},
    )


def run_handler(sessions: sessionmaker[Session], consumer: Consumer, events: list[Event]) -> None:
    """One batch through a consumer's handler, committed (then the caller acks)."""
    with sessions() as session:
        consumer.handler(session, events)
        session.commit()


def embedded(
    sessions: sessionmaker[Session],
    seconds: float,
    consumers: Iterable[Consumer] | None = None,
) -> Periodic:
    """Without the bus: the registered consumers drained from the outbox in-process, each
    under its own cursor (`cursors.drain`), every `seconds`."""
    chosen = list(consumers) if consumers is not None else registered()

    def one_round() -> None:
        for consumer in chosen:

            def wanted(session: Session, events: list[Event], c: Consumer = consumer) -> None:
                mine = [e for e in events if c.matches(e.kind)]
                if mine:
                    c.handler(session, mine)

            cursors.drain(sessions, consumer.name, wanted, batch=consumer.batch)

    return Periodic("event-consumers", seconds, one_round)
