"""The relay: the outbox copied to JetStream in `seq` order, by one process per node.

Every `minga worker` runs one, but only the holder of the node lease `nats-relay` works (a
holder killed loses it after `LEASE`). A round reads the events after the relay's cursor
(`minga.events.cursors`), publishes them with `Nats-Msg-Id` = seq, waits for JetStream's
acks, then moves the cursor: a relay that stops between the two publishes the same messages
again, and JetStream drops them as duplicates. A relay taking over also reads the last message
in the stream, so even past JetStream's de-duplication window it resumes after it.
An `ingest.queued` event is also published, before the event itself, to the jobs stream; the
holder also announces the jobs no message would run (`minga.ingest.handoff.orphans`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import timedelta

from nats.js import JetStreamContext
from nats.js.errors import NotFoundError
from sqlalchemy.orm import Session, sessionmaker

from minga.db import unit_of_work
from minga.events import cursors
from minga.events.bus import INGEST_QUEUED, Names, encode
from minga.events.outbox import Event, read_after
from minga.federation.lease import NodeLease
from minga.ingest import handoff

log = logging.getLogger("minga.events")

LEASE = timedelta(seconds=20)
MSG_ID = "Nats-Msg-Id"


class Relay:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        js: JetStreamContext,
        names: Names,
        *,
        batch: int = 1000,
        poll: float = 0.1,
    ) -> None:
        self.sessions, self.js, self.names = sessions, js, names
        self.batch, self.poll = batch, poll
        self.lease = NodeLease(sessions, f"nats-relay:{names.prefix}", LEASE)
        self.held_at = 0.0  # monotonic time of the last renewal; 0: not held
        self.relayed = 0

    async def _hold(self) -> bool:
        """Take or renew the lease, a third of its term at a time."""
        now = time.monotonic()
        if self.held_at and now - self.held_at < LEASE.total_seconds() / 3:
            return True
        held = await asyncio.to_thread(self.lease.hold)
        if held and not self.held_at:
            await self._resume()
        if held:  # on taking the lease, every queued job; then those left running
            await asyncio.to_thread(self._orphans, not self.held_at)
        self.held_at = now if held else 0.0
        return held

    def _orphans(self, every_queued: bool) -> None:
        with unit_of_work(self.sessions) as session:
            found = handoff.orphans(session, every_queued=every_queued)
        if found:
            log.warning("%d ingest jobs no bus message would run were put on the bus", found)

    async def _resume(self) -> None:
        """Move the cursor past what the stream already holds (a relay that stopped after a
        publish, longer ago than the de-duplication window)."""
        try:
            info = await self.js.stream_info(self.names.events_stream)
            if not info.state.last_seq:
                return
            last = await self.js.get_msg(self.names.events_stream, info.state.last_seq)
        except NotFoundError:
            return
        published = (last.headers or {}).get(MSG_ID, "")
        if published.isdigit():
            with unit_of_work(self.sessions) as session:
                cursors.position(session, self.names.relay_cursor)
                cursors.advance(session, self.names.relay_cursor, int(published))

    def _read(self) -> tuple[int, list[Event]]:
        with unit_of_work(self.sessions) as session:
            after = cursors.position(session, self.names.relay_cursor)
            return after, read_after(session, after, limit=self.batch)

    def _advance(self, seq: int) -> None:
        with unit_of_work(self.sessions) as session:
            cursors.advance(session, self.names.relay_cursor, seq)

    async def publish(self, events: list[Event]) -> None:
        """Publish `events` in order and wait until JetStream stored every one."""
        pending = []
        for event in events:
            if event.kind == INGEST_QUEUED:
                job = str(event.payload.get("job_id", ""))
                pending.append(
                    await self.js.publish_async(
                        self.names.ingest_jobs,
                        job.encode(),
                        headers={MSG_ID: f"ingest-job-{job}"},
                    )
                )
            pending.append(
                await self.js.publish_async(
                    self.names.event(event.kind),
                    encode(event),
                    headers={MSG_ID: str(event.seq)},
                )
            )
        await asyncio.gather(*pending)

    async def round(self) -> int:
        """Relay one batch if this process holds the lease; how many events it relayed."""
        if not await self._hold():
            return 0
        _, found = await asyncio.to_thread(self._read)
        if not found:
            return 0
        await self.publish(found)
        await asyncio.to_thread(self._advance, found[-1].seq)
        self.relayed += len(found)
        return len(found)

    async def run(self, stop: asyncio.Event) -> None:
        """Relay until `stop` is set (then let another process take over at once)."""
        try:
            while not stop.is_set():
                try:
                    moved = await self.round()
                except Exception:  # NATS or the database away for a moment: try again
                    log.exception("event relay round failed")
                    self.held_at = 0.0
                    moved = 0
                if moved < self.batch:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), self.poll if self.held_at else 5.0)
        finally:
            if self.held_at:
                try:
                    await asyncio.to_thread(self.lease.release)
                except Exception:  # the lease expires anyway
                    log.debug("relay lease not released", exc_info=True)
