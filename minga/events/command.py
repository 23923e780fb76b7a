"""`minga worker`: the node's background work in a process of its own.

Without `MINGA_EVENT_BUS` (the embedded default): queued ingest jobs from the database queue,
as `minga ingest-worker` runs them, and the registered event consumers drained from the outbox.
With `MINGA_EVENT_BUS=nats://...`: the same work from NATS JetStream (`minga.events.worker`);
run any number of workers, on any machine, against the node's PostgreSQL.
"""

from __future__ import annotations

import asyncio
import signal
import time
from typing import Annotated

import typer

from minga.events import bus
from minga.events.bus import BusUnavailable
from minga.events.worker import FETCH_WAIT, INGEST, BusWorker
from minga.ingest import jobs
from minga.ingest.command import BadInput, Unavailable, _node, _quiet_logs
from minga.ops import exits
from minga.ops.exits import load_settings, stop


def say(line: str) -> None:
    print(line, flush=True)


def worker_command(
    once: Annotated[
        bool, typer.Option(help="Stop when there is nothing left to do (the queue is empty).")
    ] = False,
) -> None:
    """Run queued ingest jobs and the event consumers until stopped (SIGTERM finishes the
    messages in hand first); with MINGA_EVENT_BUS, from NATS JetStream."""
    _quiet_logs()
    settings = load_settings()
    try:
        with _node() as sessions:
            if not settings.event_bus:
                count = jobs.work(sessions, once=True) if once else 0
                consumers = bus.embedded(sessions, 1.0)
                if once:
                    consumers.task()
                else:
                    with consumers:
                        count = jobs.work(sessions)
                say(f"{count} ingest jobs run.")
                return
            worker = BusWorker(settings, sessions, say=say)
            asyncio.run(_run(worker, once))
    except BusUnavailable as exc:
        stop(exc.message, exits.UNAVAILABLE)
    except Unavailable as exc:
        stop(str(exc), exits.UNAVAILABLE)
    except BadInput as exc:
        stop(str(exc), exits.USAGE)
    say(
        f"{worker.done[INGEST]} ingest jobs run,"
        f" {sum(n for k, n in worker.done.items() if k not in (INGEST, 'dead'))} events"
        f" handled, {worker.relayed} relayed, {worker.done['dead']} dead-lettered."
    )


async def _run(worker: BusWorker, once: bool) -> None:
    done = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, done.set)
    idle = asyncio.create_task(_stop_when_idle(worker, done)) if once else None
    try:
        await worker.run(done, ready=lambda: say("worker ready"))
    finally:
        if idle is not None:
            idle.cancel()


async def _stop_when_idle(worker: BusWorker, done: asyncio.Event) -> None:
    seen, quiet_since = -1, time.monotonic()
    while not done.is_set():
        await asyncio.sleep(FETCH_WAIT / 2)
        now = sum(worker.done.values()) + worker.relayed
        if now != seen:
            seen, quiet_since = now, time.monotonic()
        elif time.monotonic() - quiet_since > 3 * FETCH_WAIT:
            done.set()
