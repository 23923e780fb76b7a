"""Job leases: a heartbeat keeps a running job's lease; a job whose worker was killed (kill -9,
mid-write) runs again as soon as its lease lapses; a run that lost its lease stores nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from minga.ingest import jobs, lease
from minga.ingest.models import jobs as job_rows
from minga.ingest.pipeline import Options, Upload
from minga.intel.models import objects
from tests.conftest import Member, add_member
from tests.factories import indicator, sid


def _bundle(n: int) -> bytes:
    return orjson.dumps(
        {"type": "bundle", "id": sid("bundle", 0), "objects": [indicator(i) for i in range(n)]}
    )


def _queue(sessions: sessionmaker[Session], member: Member, n: int = 3) -> int:
    with sessions() as s:
        job = jobs.enqueue(s, member.principal, Upload(_bundle(n), "feed.json"), Options())
        s.commit()
    return job.id


def _row(sessions: sessionmaker[Session], job_id: int):
    with sessions() as s:
        return s.execute(select(job_rows).where(job_rows.c.id == job_id)).one()


def _stored(sessions: sessionmaker[Session]) -> int:
    with sessions() as s:
        return int(s.scalar(select(func.count()).select_from(objects)) or 0)


def _until(check, what: str, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting: {what}")
        time.sleep(0.02)


def test_the_lease_is_about_a_minute():
    # A killed job must run again within about a minute (issue item 6), yet survive a renewal
    # that waits out SQLite's 10 s busy timeout behind another writer.
    assert lease.HEARTBEAT * 3 < lease.LEASE <= timedelta(seconds=60)


def test_a_heartbeat_renews_the_lease_while_a_job_runs(
    sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
):
    a = add_member(sessions, "Org A")
    job_id = _queue(sessions, a)
    real = jobs.run_pipeline
    seen: list[datetime] = []

    def slow(item, ctx):  # a long job: it waits for two heartbeats before it works
        claimed = _row(sessions, job_id).updated_at
        for _ in range(2):
            _until(lambda: _row(sessions, job_id).updated_at > (seen or [claimed])[-1], "beat")
            seen.append(_row(sessions, job_id).updated_at)
        return real(item, ctx)

    monkeypatch.setattr(jobs, "run_pipeline", slow)
    done = jobs.run_job(sessions, job_id, heartbeat=0.05)
    assert (done.status, done.attempts, len(seen)) == ("done", 1, 2)
    with sessions() as s:  # a running job with a fresh heartbeat is never re-queued
        s.execute(update(job_rows).where(job_rows.c.id == job_id).values(status="running"))
        assert jobs.requeue_stale(s) == 0
        s.rollback()


def test_a_run_that_lost_its_lease_stores_nothing(
    sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
):
    a = add_member(sessions, "Org A")
    job_id = _queue(sessions, a)
    real = jobs.run_pipeline

    def taken_over(item, ctx):  # meanwhile a worker found the lease lapsed and re-queued it
        with sessions() as s:
            s.execute(update(job_rows).where(job_rows.c.id == job_id).values(status="queued"))
            s.commit()
        return real(item, ctx)

    monkeypatch.setattr(jobs, "run_pipeline", taken_over)
    assert jobs.run_job(sessions, job_id).status == "queued"
    assert _stored(sessions) == 1  # the member's identity only: nothing of the lost run
    monkeypatch.setattr(jobs, "run_pipeline", real)
    assert jobs.work(sessions, once=True) == 1
    row = _row(sessions, job_id)
    assert (row.status, row.attempts) == ("done", 2)
    assert _stored(sessions) == 1 + 3


WORKER = """
import os, sys, time
from minga.db import make_engine, make_sessionmaker
from minga.ingest import jobs

def hang(stored):
    open(sys.argv[3], "w").close()  # the batch is written, not committed: the lock is held
    time.sleep(600)

sessions = make_sessionmaker(make_engine(sys.argv[1]))
jobs.run_job(sessions, int(sys.argv[2]), on_batch=hang)
"""


def test_a_job_whose_worker_was_killed_mid_write_runs_again(
    db_url: str, sessions: sessionmaker[Session], tmp_path: Path
):
    a = add_member(sessions, "Org A")
    job_id = _queue(sessions, a, n=50)
    signal_file = tmp_path / "writing"
    worker = subprocess.Popen(
        [sys.executable, "-c", WORKER, db_url, str(job_id), str(signal_file)],
        cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    try:
        _until(lambda: signal_file.exists() or worker.poll() is not None, "the worker writes", 60)
        assert worker.poll() is None, "the worker ended before it was killed"
        os.kill(worker.pid, signal.SIGKILL)
    finally:
        worker.kill()
        worker.wait()
    row = _row(sessions, job_id)
    assert (row.status, row.attempts) == ("running", 1)
    assert _stored(sessions) == 1  # its transaction died with it
    with sessions() as s:  # within its lease a killed job is not yet taken for dead
        assert jobs.requeue_stale(s) == 0
    # Its heartbeat stopped with it: once LEASE has passed, the queue runs it again.
    with sessions() as s:
        lapsed = datetime.now(UTC) - lease.LEASE - timedelta(seconds=1)
        s.execute(update(job_rows).where(job_rows.c.id == job_id).values(updated_at=lapsed))
        s.commit()
    assert jobs.work(sessions, once=True) == 1
    row = _row(sessions, job_id)
    assert (row.status, row.attempts) == ("done", 2)
    assert _stored(sessions) == 1 + 50
