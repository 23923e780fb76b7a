"""The bus against the real NATS server: the relay publishes every event once and in order
(through a restart), registered consumers run and dead-letter what keeps failing, and ingest
jobs queued with wait=false go through the jobs stream to a worker."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from nats.js import JetStreamContext
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from minga.app import create_app
from minga.cli import app
from minga.events import bus, counts, cursors, outbox
from minga.events.bus import Consumer, register_consumer
from minga.events.outbox import Event
from minga.events.relay import Relay
from minga.events.worker import INGEST, BusWorker
from minga.ingest import jobs
from minga.ingest.models import jobs as job_rows
from minga.ingest.pipeline import Options, Upload
from minga.intel import service as intel
from minga.policy import Tlp
from minga.settings import Settings
from tests.conftest import add_member
from tests.factories import indicator, sid


def _events(sessions: sessionmaker[Session]) -> list[Event]:
    with sessions() as s:
        return outbox.read_after(s, 0, limit=10_000)


def _write(sessions: sessionmaker[Session], first: int, n: int) -> None:
    member = add_member(sessions, f"CSIRT {first}")
    with sessions() as s:
        for i in range(first, first + n):
            intel.create_objects(s, member.principal, [indicator(i)], tlp=Tlp.GREEN)
        outbox.emit(s, outbox.INCIDENT, subject=f"incident:{first}")
        s.commit()


def _on_bus(settings: Settings, work: Callable[[JetStreamContext], Coroutine[Any, Any, Any]]):
    async def go() -> Any:
        nc = await bus.connect(settings)
        try:
            js = nc.jetstream()
            await bus.ensure_streams(js, bus.names(settings))
            return await work(js)
        finally:
            await nc.close()

    return asyncio.run(go())


async def _stream(js: JetStreamContext, stream: str) -> list[Any]:
    info = await js.stream_info(stream)
    first, last = info.state.first_seq, info.state.last_seq
    return [await js.get_msg(stream, seq) for seq in range(first, last + 1)] if last else []


def _ids(msgs: list[Any]) -> list[str]:
    return [m.headers["Nats-Msg-Id"] for m in msgs]


def test_the_relay_publishes_every_event_once_in_order(
    sessions: sessionmaker[Session], bus_settings: Settings
) -> None:
    names = bus.names(bus_settings)
    _write(sessions, 1, 3)

    async def work(js: JetStreamContext) -> list[Any]:
        relay = Relay(sessions, js, names)
        while await relay.round():
            pass
        # It stopped after publishing, before its cursor moved: the same messages again.
        await relay.publish(_events(sessions))
        # Another process takes over, its cursor behind what the stream holds.
        await asyncio.to_thread(relay.lease.release)
        with sessions() as s:
            s.execute(update(cursors.event_cursors).values(seq=0))
            s.commit()
        _write(sessions, 10, 2)
        second = Relay(sessions, js, names)
        while await second.round():
            pass
        return await _stream(js, names.events_stream)

    msgs = _on_bus(bus_settings, work)
    events = _events(sessions)
    assert len(events) > 5
    assert _ids(msgs) == [str(e.seq) for e in events]
    assert [m.subject for m in msgs] == [names.event(e.kind) for e in events]
    assert [bus.decode(m.data) for m in msgs] == events


def _work_until(
    settings: Settings,
    sessions: sessionmaker[Session],
    done: Callable[[BusWorker], bool],
    **options: Any,
) -> BusWorker:
    """Run a worker in this process until `done(worker)` (or a minute: a hang, not a pass)."""
    worker = BusWorker(settings, sessions, **options)

    async def go() -> None:
        stop = asyncio.Event()
        running = asyncio.create_task(worker.run(stop))
        deadline = time.monotonic() + 60
        while not done(worker) and time.monotonic() < deadline and not running.done():
            await asyncio.sleep(0.05)
        stop.set()
        await running

    asyncio.run(go())
    return worker


def test_registered_consumers_run_and_what_keeps_failing_is_dead_lettered(
    sessions: sessionmaker[Session], bus_settings: Settings
) -> None:
    _write(sessions, 1, 3)
    tried: list[int] = []

    def poison(session: Session, events: list[Event]) -> None:
        tried.extend(e.seq for e in events)
        raise RuntimeError("this consumer cannot handle incidents")

    broken = register_consumer("poison", "incident.*", poison)
    try:
        [counter] = [c for c in bus.registered() if c.name == counts.NAME]
        expected = Counter(e.kind for e in _events(sessions))

        def finished(worker: BusWorker) -> bool:
            with sessions() as s:
                return counts.counts(s) == expected and worker.done["dead"] == 1

        worker = _work_until(
            bus_settings, sessions, finished, consumers=[counter, broken], ingest=False
        )
    finally:
        bus.unregister_consumer("poison")
    with sessions() as s:
        assert counts.counts(s) == expected
    [incident] = [e for e in _events(sessions) if e.kind == outbox.INCIDENT]
    assert tried == [incident.seq] * bus_settings.event_bus_max_deliveries
    assert worker.done["dead"] == 1

    async def dead(js: JetStreamContext) -> list[Any]:
        return await _stream(js, bus.names(bus_settings).dead_stream)

    [letter] = _on_bus(bus_settings, dead)
    assert letter.headers["Minga-Consumer"] == "poison"
    assert letter.headers["Minga-Deliveries"] == str(bus_settings.event_bus_max_deliveries)
    assert "cannot handle incidents" in letter.headers["Minga-Error"]
    assert bus.decode(letter.data) == incident


def test_without_the_bus_registered_consumers_drain_the_outbox_once(
    sessions: sessionmaker[Session],
) -> None:
    _write(sessions, 1, 2)
    counter = Consumer(counts.NAME, ">", counts.count_events, ordered=True)
    runner = bus.embedded(sessions, 60, [counter])
    runner.task()
    runner.task()  # nothing new: nothing counted twice
    with sessions() as s:
        assert counts.counts(s) == Counter(e.kind for e in _events(sessions))


def test_a_job_whose_workers_keep_stopping_is_dead_lettered(
    sessions: sessionmaker[Session], bus_settings: Settings
) -> None:
    member = add_member(sessions, "CSIRT-CR")
    body = orjson.dumps({"type": "bundle", "id": sid("bundle", 0), "objects": [indicator(1)]})
    with sessions() as s:
        job = jobs.enqueue(s, member.principal, Upload(body, "feed.json"), Options())
        bus.announce_job(s, job.id, member.org_id)
        s.commit()
    names = bus.names(bus_settings)
    deliveries = bus_settings.event_bus_max_deliveries

    async def crash(js: JetStreamContext) -> list[int]:
        while await Relay(sessions, js, names).round():
            pass
        config = BusWorker(bus_settings, sessions)._config(INGEST, names.ingest_jobs, -1)
        sub = await js.pull_subscribe(
            names.ingest_jobs, durable=INGEST, stream=names.jobs_stream, config=config
        )
        seen = []
        for _ in range(deliveries):  # taken, never acknowledged: its worker died each time
            [msg] = await sub.fetch(1, timeout=10)
            seen.append(msg.metadata.num_delivered)
        await sub.unsubscribe()
        return seen

    assert _on_bus(bus_settings, crash) == list(range(1, deliveries + 1))
    worker = _work_until(
        bus_settings, sessions, lambda w: w.done["dead"] == 1, consumers=[], relay=False
    )
    assert (worker.done["dead"], worker.done[INGEST]) == (1, 0)
    with sessions() as s:
        row = s.execute(select(job_rows).where(job_rows.c.id == job.id)).one()
    assert (row.status, row.error) == (
        "dead",
        f"its worker stopped {deliveries} times during this job",
    )
    [outcome] = [e for e in _events(sessions) if e.kind == outbox.INGEST_JOB]
    assert (outcome.subject, outcome.payload["status"]) == (f"ingest-job:{job.id}", "dead")


def test_an_upload_without_wait_runs_in_a_worker_through_the_bus(
    sessions: sessionmaker[Session], engine: Engine, bus_settings: Settings
) -> None:
    member = add_member(sessions, "CSIRT-CR")
    body = orjson.dumps({"type": "bundle", "id": sid("bundle", 0), "objects": [indicator(1)]})
    with TestClient(create_app(bus_settings, engine=engine)) as client:
        r = client.post(
            "/api/ingest?wait=false&filename=f.json", content=body, headers=member.headers
        )
        assert (r.status_code, r.json()["status"]) == (202, "queued")
        job_id = r.json()["id"]
        # No background task ran it: it waits for a worker.
        job = client.get(f"/api/ingest/jobs/{job_id}", headers=member.headers).json()
        assert job["status"] == "queued"
    [queued] = [e for e in _events(sessions) if e.kind == bus.INGEST_QUEUED]
    assert queued.payload == {"job_id": job_id}
    worker = _work_until(bus_settings, sessions, lambda w: w.done[INGEST] == 1, consumers=[])
    assert worker.done[INGEST] == 1
    with sessions() as s:
        row = s.execute(select(job_rows).where(job_rows.c.id == job_id)).one()
    assert (row.status, row.attempts, orjson.loads(row.result)["created"]) == ("done", 1, 1)


def test_jobs_no_message_would_run_are_put_on_the_bus(
    sessions: sessionmaker[Session], bus_settings: Settings
) -> None:
    """A job queued before the node went on the bus, and one whose server stopped during a
    wait=true upload (running, its heartbeat stopped): the relay's holder announces both."""
    member = add_member(sessions, "CSIRT-CR")
    ids = []
    for n in (1, 2):
        body = orjson.dumps({"type": "bundle", "id": sid("bundle", n), "objects": [indicator(n)]})
        with sessions() as s:
            ids.append(jobs.enqueue(s, member.principal, Upload(body, f"{n}.json"), Options()).id)
            s.commit()
    with sessions() as s:
        lapsed = datetime.now(UTC) - timedelta(minutes=5)
        stopped = {"status": "running", "attempts": 1, "updated_at": lapsed}
        s.execute(update(job_rows).where(job_rows.c.id == ids[1]).values(**stopped))
        s.commit()
    worker = _work_until(bus_settings, sessions, lambda w: w.done[INGEST] == 2, consumers=[])
    assert worker.done[INGEST] == 2
    with sessions() as s:
        rows = s.execute(select(job_rows.c.status, job_rows.c.attempts).order_by(job_rows.c.id))
        assert [tuple(r) for r in rows] == [("done", 1), ("done", 2)]


def test_the_worker_without_the_bus_runs_the_queue_and_the_consumers(
    db_url: str, sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    member = add_member(sessions, "CSIRT-CR")
    body = orjson.dumps({"type": "bundle", "id": sid("bundle", 0), "objects": [indicator(1)]})
    with sessions() as s:
        jobs.enqueue(s, member.principal, Upload(body, "feed.json"), Options())
        s.commit()
    monkeypatch.setenv("MINGA_DATABASE_URL", db_url)
    monkeypatch.delenv("MINGA_EVENT_BUS", raising=False)
    result = CliRunner().invoke(app, ["worker", "--once"])
    assert (result.exit_code, result.output.strip()) == (0, "1 ingest jobs run.")
    with sessions() as s:
        assert counts.counts(s) == Counter(e.kind for e in _events(sessions))
        assert counts.counts(s)[outbox.INGEST_JOB] == 1


def test_two_workers_count_every_event_once(
    sessions: sessionmaker[Session], bus_settings: Settings
) -> None:
    """The ordered event-counts consumer on two workers: one fetches at a time (a lease), so
    counts are exact; a parallel consumer runs on both and misses nothing."""
    for first in range(1, 60, 20):
        _write(sessions, first, 20)
    seen: list[int] = []
    shared = register_consumer("shared", ">", lambda s, events: seen.extend(e.seq for e in events))
    try:
        [counter] = [c for c in bus.registered() if c.name == counts.NAME]
        expected = Counter(e.kind for e in _events(sessions))
        pair = [
            BusWorker(bus_settings, sessions, consumers=[counter, shared], ingest=False, relay=r)
            for r in (True, False)
        ]

        async def go() -> None:
            stop = asyncio.Event()
            running = [asyncio.create_task(w.run(stop)) for w in pair]
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and (
                sum(w.done[counts.NAME] for w in pair) < expected.total()
                or len(seen) < expected.total()
            ):
                await asyncio.sleep(0.05)
            stop.set()
            await asyncio.gather(*running)

        asyncio.run(go())
    finally:
        bus.unregister_consumer("shared")
    with sessions() as s:
        assert counts.counts(s) == expected
    assert set(seen) == {e.seq for e in _events(sessions)}  # at least once, on either worker
    assert [w.done[counts.NAME] for w in pair].count(0) == 1  # one worker held the lease
