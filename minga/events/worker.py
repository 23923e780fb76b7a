"""`minga worker` on the bus: the relay, the ingest jobs and the registered event consumers.

Each consumer is a loop fetching from its durable pull consumer and handling what it got in a
thread (the handlers are synchronous database code); several processes fetching from one
durable consumer share its messages (an `ordered` consumer is fetched by one worker at a time,
under a node lease, the others standing by to take over). `stop` (SIGTERM) ends the loops after
the messages in hand are handled and acknowledged — nothing is left half done — then the
connection closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable

from nats.aio.msg import Msg
from nats.js import JetStreamContext, api
from nats.js.errors import FetchTimeoutError
from sqlalchemy.orm import Session, sessionmaker

from minga.db import unit_of_work
from minga.events import bus
from minga.events.bus import Consumer
from minga.events.relay import LEASE, Relay
from minga.federation.lease import NodeLease
from minga.ingest import handoff
from minga.settings import Settings

log = logging.getLogger("minga.events")

INGEST = "ingest"  # the durable consumer of the jobs stream
FETCH_WAIT = 1.0  # seconds a fetch waits for messages: how soon a stop is noticed
MORE_WAIT = 0.02  # seconds a batch waits to fill up once its first message is in


class BusWorker:
    """One `minga worker` process's share of the bus's work."""

    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        *,
        consumers: Iterable[Consumer] | None = None,
        ingest: bool = True,
        relay: bool = True,
        say: Callable[[str], None] = log.info,
    ) -> None:
        self.settings, self.sessions, self.say = settings, sessions, say
        self.names = bus.names(settings)
        self.consumers = list(consumers) if consumers is not None else bus.registered()
        self.ingest, self.relay = ingest, relay
        self.ack_wait = settings.event_bus_ack_seconds
        self.max_deliveries = settings.event_bus_max_deliveries
        self.done: Counter[str] = Counter()  # jobs run, events handled (per consumer), dead
        self._js: JetStreamContext
        self._relay: Relay | None = None

    @property
    def relayed(self) -> int:
        """Events this process relayed (while it held the relay lease)."""
        return self._relay.relayed if self._relay else 0

    def _config(self, name: str, subject: str, max_ack_pending: int) -> api.ConsumerConfig:
        return api.ConsumerConfig(
            durable_name=name,
            filter_subject=subject,
            ack_policy=api.AckPolicy.EXPLICIT,
            ack_wait=self.ack_wait,
            max_deliver=-1,  # counted here: past the last delivery, the dead letter
            max_ack_pending=max_ack_pending,
        )

    async def run(self, stop: asyncio.Event, ready: Callable[[], None] | None = None) -> None:
        """Work until `stop` is set; `ready` is called once every consumer is subscribed."""
        nc = await bus.connect(self.settings, name="minga-worker")
        try:
            self._js = js = nc.jetstream()
            await bus.ensure_streams(js, self.names)
            loops = []
            if self.ingest:
                sub = await js.pull_subscribe(
                    self.names.ingest_jobs,
                    durable=INGEST,
                    stream=self.names.jobs_stream,
                    config=self._config(INGEST, self.names.ingest_jobs, -1),
                )
                loops.append(self._loop(stop, sub, 1, self._job))
            for consumer in self.consumers:
                subject = self.names.event(consumer.subject_filter)
                pending = consumer.batch if consumer.ordered else -1
                sub = await js.pull_subscribe(
                    subject,
                    durable=consumer.name,
                    stream=self.names.events_stream,
                    config=self._config(consumer.name, subject, pending),
                )
                handle = self._events_handler(consumer)
                lease = None
                if consumer.ordered:  # one fetcher at a time, so batches stay in seq order
                    lease = NodeLease(
                        self.sessions, f"bus:{self.names.prefix}:{consumer.name}", LEASE
                    )
                loops.append(self._loop(stop, sub, consumer.batch, handle, lease))
            if self.relay:
                self._relay = Relay(self.sessions, js, self.names)
                loops.append(self._relay.run(stop))
            if ready is not None:
                ready()
            await asyncio.gather(*loops)
        finally:  # every fetched message was handled: nothing is left to drain
            await nc.close()

    async def _loop(
        self,
        stop: asyncio.Event,
        sub: JetStreamContext.PullSubscription,
        batch: int,
        handle: Callable[[list[Msg]], object],
        lease: NodeLease | None = None,
    ) -> None:
        held_at = 0.0
        try:
            while not stop.is_set():
                if lease is not None and time.monotonic() - held_at > LEASE.total_seconds() / 3:
                    held = await asyncio.to_thread(lease.hold)
                    held_at = time.monotonic() if held else 0.0
                    if not held:  # another worker runs this ordered consumer: stand by
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(stop.wait(), LEASE.total_seconds() / 3)
                        continue
                await self._round(sub, batch, handle)
        finally:
            if lease is not None and held_at:
                with contextlib.suppress(Exception):  # it expires anyway
                    await asyncio.to_thread(lease.release)

    async def _round(
        self,
        sub: JetStreamContext.PullSubscription,
        batch: int,
        handle: Callable[[list[Msg]], object],
    ) -> None:
        try:
            msgs = await sub.fetch(1, timeout=FETCH_WAIT)  # waits for the first one only
            if batch > 1:  # then takes what else is there, without waiting for a full batch
                with contextlib.suppress(FetchTimeoutError, TimeoutError):
                    msgs += await sub.fetch(batch - 1, timeout=MORE_WAIT)
        except (FetchTimeoutError, TimeoutError):
            return
        except Exception:  # NATS reconnecting: the client retries underneath
            log.exception("fetching from the bus failed")
            await asyncio.sleep(FETCH_WAIT)
            return
        try:
            await handle(msgs)  # type: ignore[misc]
        except Exception:  # an ack or a dead letter not sent: NATS delivers them again
            log.exception("handling bus messages failed")

    def _backoff(self, delivered: int) -> float:
        return min(self.ack_wait, 0.25 * 2 ** max(0, delivered - 1))

    async def _dead_letter(self, msg: Msg, consumer: str, why: str) -> None:
        meta = msg.metadata
        await self._js.publish(
            self.names.dead(consumer),
            msg.data,
            headers={
                "Nats-Msg-Id": f"{consumer}-{meta.sequence.stream}",
                "Minga-Consumer": consumer,
                "Minga-Subject": msg.subject,
                "Minga-Deliveries": str(meta.num_delivered),
                "Minga-Error": " ".join(why.split())[:500],  # one line: headers end at CRLF
            },
        )
        await msg.ack()
        self.done["dead"] += 1
        self.say(f"{consumer}: message {meta.sequence.stream} dead-lettered: {why}")

    # -- ingest jobs -----------------------------------------------------------------------

    async def _job(self, msgs: list[Msg]) -> None:
        msg = msgs[0]
        delivered = msg.metadata.num_delivered
        job_id = int(msg.data)
        if delivered > self.max_deliveries:
            await asyncio.to_thread(self._bury, job_id, delivered - 1)
            await self._dead_letter(msg, INGEST, f"ingest job {job_id}: its worker kept stopping")
            return
        self.say(f"ingest job {job_id}: started (delivery {delivered})")
        alive = asyncio.create_task(self._keep_alive(msg))
        try:
            job = await asyncio.to_thread(handoff.run_delivered, self.sessions, job_id, delivered)
        except Exception as exc:  # the database away: another delivery, later
            log.warning("ingest job %s, delivery %s: %s", job_id, delivered, exc)
            if delivered >= self.max_deliveries:
                await asyncio.to_thread(self._bury, job_id, delivered)
                await self._dead_letter(msg, INGEST, f"{type(exc).__name__}: {exc}")
            else:
                await msg.nak(delay=self._backoff(delivered))
            return
        finally:
            alive.cancel()
        await msg.ack_sync()  # confirmed: a job acknowledged is never handed out again
        self.done[INGEST] += 1
        self.say(f"ingest job {job_id}: {job.status}")

    def _bury(self, job_id: int, deliveries: int) -> None:
        with unit_of_work(self.sessions) as session:
            handoff.bury(session, job_id, deliveries)

    async def _keep_alive(self, msg: Msg) -> None:
        """Tell NATS the job still runs, so it is not handed to another worker meanwhile."""
        while True:
            await asyncio.sleep(self.ack_wait / 3)
            try:
                await msg.in_progress()
            except Exception:  # the connection is back soon, or the message is redelivered
                log.debug("in-progress not sent", exc_info=True)

    # -- event consumers -------------------------------------------------------------------

    def _events_handler(self, consumer: Consumer) -> Callable[[list[Msg]], object]:
        async def handle(msgs: list[Msg]) -> None:
            try:
                events = [bus.decode(m.data) for m in msgs]
                await asyncio.to_thread(bus.run_handler, self.sessions, consumer, events)
            except Exception as exc:
                if len(msgs) == 1:
                    await self._failed(consumer, msgs[0], exc)
                    return
                for msg in msgs:  # one at a time: only the event that fails is retried
                    await handle([msg])
                return
            for msg in msgs:
                await msg.ack()
            self.done[consumer.name] += len(msgs)

        return handle

    async def _failed(self, consumer: Consumer, msg: Msg, exc: Exception) -> None:
        delivered = msg.metadata.num_delivered
        said = f"{type(exc).__name__}: {exc}"
        log.warning("event consumer %s, %s, delivery %s: %s", consumer.name, msg.subject,
                    delivered, said)  # fmt: skip
        if delivered >= self.max_deliveries:
            await self._dead_letter(msg, consumer.name, said)
        else:
            await msg.nak(delay=self._backoff(delivered))
