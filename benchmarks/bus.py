"""The event bus on NATS JetStream: events relayed and consumed, ingest jobs with 1 and 2 workers.

    .venv/bin/python benchmarks/bus.py            # 20,000 events, 40 jobs of 200 indicators
    .venv/bin/python benchmarks/bus.py --quick    # 5,000 events, 12 jobs of 100 indicators

Real `minga worker` processes on a fresh PostgreSQL database (SQLite file if PostgreSQL is not
reachable) and the NATS server at MINGA_BENCH_NATS_URL (default nats://127.0.0.1:4222).
- Events: the outbox receives N events (1,000 per transaction); once 2 workers are ready, the
  relay's publishing copies them to JetStream (events/s, in this process) while the workers
  consume them: the ordered event-counts consumer (one worker at a time) and a no-op consumer
  both workers share (events/s from the first publish to the last acknowledgement). The peer,
  on the same events in the same run: the embedded default, the same event-counts handler
  drained from the outbox in-process (`cursors.drain`).
- Jobs: J upload jobs queued with the bus (as `wait=false` uploads are), run by 1 then by 2
  workers; jobs/s from the first enqueue to the last job done, and the ratio 2 / 1.

`workers(...)` and `drained(...)` are what `benchmarks/stream.py` calls to run its own figures
(webhook deliveries/s on NATS with 2 workers): start workers with extra consumer modules, then
wait until named consumers have acknowledged everything.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import nats
import orjson
from rich.console import Console
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from minga.accounts import service as accounts
from minga.db import make_engine, make_sessionmaker
from minga.events import bus, counts, cursors, outbox
from minga.events.bus_models import event_counts
from minga.events.relay import Relay
from minga.ingest import jobs
from minga.ingest.models import jobs as job_rows
from minga.ingest.pipeline import Options, Upload
from minga.migrate import upgrade
from minga.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN = os.environ.get(
    "MINGA_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
NATS_URL = os.environ.get("MINGA_BENCH_NATS_URL", "nats://127.0.0.1:4222")
SINK = "bench-sink"  # a parallel consumer that does nothing: the bus's own cost
console = Console(width=130)

# `minga worker`, after importing modules that register more consumers (argv[1:]).
WORKER = """
import importlib, sys
for module in sys.argv[1:]:
    importlib.import_module(module)
from minga.cli import app
app(["worker"], prog_name="minga")
"""


def sink(session: Session, events: list[Any]) -> None:
    """The no-op consumer's handler (this module registers it in the workers)."""


if os.environ.get("MINGA_BENCH_SINK") == "1":
    bus.register_consumer(SINK, ">", sink)


@contextmanager
def database() -> Iterator[str]:
    """A fresh, migrated database: PostgreSQL if reachable, else an SQLite file."""
    try:
        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("select 1"))
    except Exception:
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{tmp}/bus.db"
            upgrade(make_engine(url))
            yield url
        return
    name = f"minga_bench_bus_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    try:
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def bus_settings(url: str) -> Settings:
    return Settings(
        database_url=url, event_bus=NATS_URL, event_bus_prefix=f"b{uuid.uuid4().hex[:10]}"
    )


@contextmanager
def workers(
    settings: Settings, n: int, modules: Sequence[str] = (), env: dict[str, str] | None = None
) -> Iterator[list[subprocess.Popen[bytes]]]:
    """`n` `minga worker` processes on `settings`' database and bus, ready (subscribed) when
    this yields; SIGTERM-ed and waited for after. `modules` register more consumers."""
    logs = tempfile.TemporaryDirectory()
    environ = {
        **os.environ,
        **(env or {}),
        "PYTHONPATH": str(ROOT),
        "MINGA_DATABASE_URL": settings.database_url,
        "MINGA_EVENT_BUS": settings.event_bus,
        "MINGA_EVENT_BUS_PREFIX": settings.event_bus_prefix,
    }
    outs = [Path(logs.name) / f"worker-{i}.out" for i in range(n)]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, *modules],
            cwd=ROOT,
            env=environ,
            stdout=out.open("w"),
            stderr=subprocess.STDOUT,
        )
        for out in outs
    ]
    try:
        deadline = time.monotonic() + 120
        while not all("worker ready" in out.read_text() for out in outs):
            if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                raise RuntimeError("a worker did not start: " + outs[0].read_text()[-2000:])
            time.sleep(0.05)
        yield procs
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()
        logs.cleanup()
        asyncio.run(_delete_streams(settings))


async def _delete_streams(settings: Settings) -> None:
    nc = await nats.connect(settings.event_bus)
    try:
        await bus.delete_streams(nc.jetstream(), bus.names(settings))
    finally:
        await nc.close()


def drained(settings: Settings, consumers: Sequence[str], upto: int) -> dict[str, float]:
    """Wait until each named consumer of the events stream has acknowledged every message up to
    stream position `upto`; the monotonic time each was seen done."""

    async def watch() -> dict[str, float]:
        nc = await nats.connect(settings.event_bus)
        done: dict[str, float] = {}
        try:
            js = nc.jetstream()
            stream = bus.names(settings).events_stream
            while len(done) < len(consumers):
                for name in consumers:
                    if name not in done:
                        info = await js.consumer_info(stream, name)
                        if info.ack_floor.stream_seq >= upto:
                            done[name] = time.monotonic()
                await asyncio.sleep(0.02)
            return done
        finally:
            await nc.close()

    return asyncio.run(watch())


def _write_events(sessions: sessionmaker[Session], n: int) -> None:
    kinds = (outbox.OBJECTS, outbox.INGEST_JOB, outbox.INCIDENT, "notification")
    for start in range(0, n, 1000):
        with sessions() as s:
            for i in range(start, min(n, start + 1000)):
                outbox.emit(s, kinds[i % 4], subject=f"bench:{i}", payload={"i": i})
            s.commit()


def events_figures(url: str, n: int) -> dict[str, float]:
    sessions = make_sessionmaker(make_engine(url))
    settings = bus_settings(url)
    began = time.monotonic()
    _write_events(sessions, n)
    written = time.monotonic()

    names = bus.names(settings)
    with sessions() as s:  # the workers' own relay starts at the end: this process publishes
        cursors.position(s, names.relay_cursor)
        cursors.advance(s, names.relay_cursor, outbox.last_seq(s))
        s.commit()

    async def publish_all() -> int:  # what the relay publishes, 1,000 events a round
        nc = await bus.connect(settings)
        try:
            relay, after, count = Relay(sessions, nc.jetstream(), names), 0, 0
            while True:
                with sessions() as s:
                    found = outbox.read_after(s, after, limit=1000)
                if not found:
                    return count
                await relay.publish(found)
                after, count = found[-1].seq, count + len(found)
        finally:
            await nc.close()

    module = __name__ if __name__ != "__main__" else "benchmarks.bus"
    with workers(settings, 2, [module], env={"MINGA_BENCH_SINK": "1"}):
        started = time.monotonic()  # both workers ready, the stream empty
        in_stream = asyncio.run(publish_all())  # a new stream: positions 1 to in_stream
        relayed = in_stream / (time.monotonic() - started)
        done = drained(settings, [counts.NAME, SINK], in_stream)
    with sessions() as s:  # the peer: the same handler, in-process from the outbox
        s.execute(event_counts.delete())
        s.commit()
    peer_started = time.monotonic()
    cursors.drain(sessions, "bench-embedded", counts.count_events, batch=100)
    peer = time.monotonic() - peer_started
    with sessions() as s:
        total = int(s.scalar(select(func.sum(event_counts.c.events))) or 0)
    assert total >= n, f"the embedded peer counted {total} of {n}"
    return {
        "events": n,
        "written to the outbox/s": n / (written - began),
        "relayed/s (publish, one relay)": relayed,
        "counted/s (ordered, 2 workers)": in_stream / (done[counts.NAME] - started),
        "no-op consumer/s (2 workers)": in_stream / (done[SINK] - started),
        "embedded drain/s (peer)": total / peer,
    }


def _bundle(first: int, n: int) -> bytes:
    objs = [
        {
            "type": "indicator",
            "spec_version": "2.1",
            "id": f"indicator--{uuid.UUID(int=first + i, version=4)}",
            "created": "2024-03-01T12:00:00.000Z",
            "modified": "2024-03-01T12:00:00.000Z",
            "name": f"bench {first + i}",
            "pattern": f"[domain-name:value = 'h{first + i}.bench.example']",
            "pattern_type": "stix",
            "valid_from": "2024-03-01T12:00:00.000Z",
        }
        for i in range(n)
    ]
    return orjson.dumps({"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": objs})


def jobs_figures(url: str, count: int, size: int, n_workers: int, offset: int) -> float:
    """Jobs/s of `count` queued jobs of `size` indicators run by `n_workers` workers."""
    sessions = make_sessionmaker(make_engine(url))
    with sessions() as s:
        org = accounts.create_organisation(
            s, None, name=f"Bench {offset}", country="CR", sector="government", kind="csirt"
        )
        user = accounts.create_user(s, None, org_id=org.id, name=f"bench-{offset}", role="analyst")
        principal = accounts.principal_for(s, user)
        s.commit()
    settings = bus_settings(url)
    with sessions() as s:  # a new prefix: relay from here, not the events already relayed
        cursors.position(s, bus.names(settings).relay_cursor)
        cursors.advance(s, bus.names(settings).relay_cursor, outbox.last_seq(s))
        s.commit()
    with workers(settings, n_workers):
        started = time.monotonic()
        ids = []
        with sessions() as s:
            for j in range(count):
                body = _bundle(offset + j * size, size)
                job = jobs.enqueue(s, principal, Upload(body, f"bench-{j}.json"), Options())
                bus.announce_job(s, job.id, org.id)
                ids.append(job.id)
            s.commit()
        while True:
            with sessions() as s:
                done = s.scalar(
                    select(func.count())
                    .select_from(job_rows)
                    .where(job_rows.c.id.in_(ids), job_rows.c.status == jobs.DONE)
                )
            if done == count:
                return count / (time.monotonic() - started)
            time.sleep(0.05)


def run(quick: bool = False) -> dict[str, float]:
    """Every figure of this benchmark (what `benchmarks/stream.py` may print beside its own)."""
    n, count, size = (5_000, 12, 100) if quick else (20_000, 40, 200)
    with database() as url:
        figures = events_figures(url, n)
        one = jobs_figures(url, count, size, 1, 1_000_000)
        two = jobs_figures(url, count, size, 2, 2_000_000)
    figures.update({"jobs": count, "jobs/s, 1 worker": one, "jobs/s, 2 workers": two})
    figures["jobs ratio 2/1"] = two / one
    figures["bus/embedded (ordered counts)"] = (
        figures["counted/s (ordered, 2 workers)"] / figures["embedded drain/s (peer)"]
    )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5,000 events, 12 jobs")
    args = parser.parse_args()
    figures = run(args.quick)
    load = os.getloadavg()
    console.print(f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} (figures are loaded)")
    for name, value in figures.items():
        console.print(f"{name:>34}: {value:,.2f}" if value % 1 else f"{name:>34}: {value:,.0f}")


if __name__ == "__main__":
    main()
