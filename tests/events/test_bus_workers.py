"""Two `minga worker` processes over PostgreSQL and NATS share the ingest jobs; killing one
mid-job (SIGKILL) loses nothing and stores nothing twice; SIGTERM mid-job finishes the job first."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import nats
import orjson
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from minga.events import bus, outbox
from minga.events.worker import INGEST
from minga.ingest import jobs
from minga.ingest.models import jobs as job_rows
from minga.ingest.pipeline import Options, Upload
from minga.intel.models import objects
from minga.settings import Settings
from tests.conftest import Member, add_member
from tests.factories import indicator, sid

ROOT = Path(__file__).resolve().parents[2]

# `minga worker`, with a job named slow.json that hangs the first worker to run it (so the test
# can kill that worker mid-job); the worker that gets it next runs it as usual.
WORKER = """
import os, sys, time
from pathlib import Path
from minga.ingest import jobs
real, gate = jobs.run_pipeline, Path(sys.argv[1])

def gated(upload, ctx):
    if upload.source == "slow.json" and not gate.exists():
        gate.write_text(str(os.getpid()))
        time.sleep(600)
    if upload.source == "last.json":  # long enough to be stopped in the middle of it
        gate.with_suffix(".last").touch()
        time.sleep(2)
    return real(upload, ctx)

jobs.run_pipeline = gated
from minga.cli import app
app(["worker"], prog_name="minga")
"""


def _until(check: Callable[[], bool], what: str, seconds: float = 90.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting: {what}")
        time.sleep(0.1)


def _queue(sessions: sessionmaker[Session], member: Member, name: str, first: int, n: int) -> int:
    objs = [indicator(i) for i in range(first, first + n)]
    body = orjson.dumps({"type": "bundle", "id": sid("bundle", first), "objects": objs})
    with sessions() as s:
        job = jobs.enqueue(s, member.principal, Upload(body, name), Options())
        bus.announce_job(s, job.id, member.org_id)
        s.commit()
    return job.id


def _statuses(sessions: sessionmaker[Session]) -> dict[int, tuple[str, int]]:
    with sessions() as s:
        rows = s.execute(select(job_rows.c.id, job_rows.c.status, job_rows.c.attempts))
        return {r.id: (r.status, r.attempts) for r in rows}


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_workers_share_jobs_and_a_killed_one_loses_nothing(
    sessions: sessionmaker[Session], bus_settings: Settings, tmp_path: Path
) -> None:
    member = add_member(sessions, "CSIRT-CR")
    gate = tmp_path / "slow-job-holder"
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "MINGA_DATABASE_URL": bus_settings.database_url,
        "MINGA_EVENT_BUS": bus_settings.event_bus,
        "MINGA_EVENT_BUS_PREFIX": bus_settings.event_bus_prefix,
        "MINGA_EVENT_BUS_ACK_SECONDS": "3",
        "MINGA_EVENT_BUS_MAX_DELIVERIES": "5",
    }
    logs = [tmp_path / "worker-0.out", tmp_path / "worker-1.out"]
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(gate)],
            cwd=ROOT,
            env=env,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
        )
        for log in logs
    ]
    try:
        _until(lambda: all("worker ready" in log.read_text() for log in logs), "both ready")
        slow = _queue(sessions, member, "slow.json", 1, 20)
        quick = [_queue(sessions, member, f"quick-{i}.json", 100 + 10 * i, 3) for i in range(4)]
        _until(gate.exists, "a worker takes the slow job")
        _until(lambda: gate.read_text().isdigit(), "its pid")
        holder = next(w for w in workers if w.pid == int(gate.read_text()))
        other = next(w for w in workers if w is not holder)
        # While one worker is stuck in the slow job, the other runs the rest.
        _until(lambda: all(_statuses(sessions)[q][0] == "done" for q in quick), "quick jobs")
        assert _statuses(sessions)[slow] == ("running", 1)
        holder.send_signal(signal.SIGKILL)
        holder.wait()
        # Its message was never acknowledged: NATS hands it to the other worker.
        _until(lambda: _statuses(sessions)[slow][0] == "done", "the slow job, elsewhere")
        # SIGTERM in the middle of a job: the worker finishes it, acknowledges it, then stops.
        last = _queue(sessions, member, "last.json", 200, 2)
        _until(gate.with_suffix(".last").exists, "the last job starts")
        other.send_signal(signal.SIGTERM)
        assert other.wait(timeout=60) == 0
    finally:
        for w in workers:
            w.kill()
            w.wait()
    held, survived = (logs[workers.index(w)].read_text() for w in (holder, other))
    assert f"ingest job {slow}: started (delivery 1)" in held
    assert f"ingest job {slow}: started (delivery 2)" in survived
    assert f"ingest job {slow}: done" in survived
    assert all(f"ingest job {q}: done" in survived for q in quick)
    assert "6 ingest jobs run" in survived.splitlines()[-1]
    statuses = _statuses(sessions)
    assert (statuses[slow], statuses[last]) == (("done", 2), ("done", 1))
    assert all(statuses[q] == ("done", 1) for q in quick)
    with sessions() as s:  # the identity of the member, then each indicator once
        assert s.scalar(select(func.count()).select_from(objects)) == 1 + 20 + 4 * 3 + 2
        ends = outbox.read_after(s, 0, limit=1000, kinds=[outbox.INGEST_JOB])
    assert sorted(int(e.subject.split(":")[1]) for e in ends) == sorted([slow, last, *quick])

    async def left() -> tuple[int, int, int]:  # every job message acknowledged, none waiting
        nc = await nats.connect(bus_settings.event_bus)
        try:
            names = bus.names(bus_settings)
            info = await nc.jetstream().consumer_info(names.jobs_stream, INGEST)
            stream = await nc.jetstream().stream_info(names.jobs_stream)
            return info.num_pending, info.num_ack_pending, stream.state.messages
        finally:
            await nc.close()

    assert asyncio.run(left()) == (0, 0, 0)
