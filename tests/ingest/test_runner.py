"""The runner: jobs end done, failed (nothing stored) or dead after retries; on both backends."""

from __future__ import annotations

import copy
import time
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from minga.errors import NotFound
from minga.ingest import jobs, pipeline
from minga.ingest.csvfeed import CsvMapping
from minga.ingest.models import jobs as job_rows
from minga.ingest.models import payloads
from minga.ingest.pipeline import Options, Upload
from minga.intel import service
from minga.intel.models import objects
from minga.policy import Reach, Tlp
from tests.conftest import Member, add_member
from tests.factories import indicator, malware, sid
from tests.ingest.test_misp_csv_stages import CSIRTAMERICAS, EVENT

CREATOR = "identity--3f0a5b1c-9d2e-4f60-8a7b-1c2d3e4f5a6b"


def submit(sessions: sessionmaker[Session], member: Member, upload: Upload, **options) -> jobs.Job:
    with sessions() as s:
        job = jobs.enqueue(s, member.principal, upload, Options(**options))
        s.commit()
    return jobs.run_job(sessions, job.id, backoff=0)


def stored(sessions: sessionmaker[Session]) -> int:
    with sessions() as s:
        return int(s.scalar(select(func.count()).select_from(objects)) or 0)


def bundle(*objs: dict) -> bytes:
    return orjson.dumps({"type": "bundle", "id": sid("bundle", 0), "objects": list(objs)})


def test_stix_import_keeps_the_third_party_creator(sessions: sessionmaker[Session]):
    a = add_member(sessions, "Org A")
    data = bundle(indicator(1, created_by_ref=CREATOR), malware(2, created_by_ref=CREATOR))
    job = submit(sessions, a, Upload(data, "vendor.json"), tlp=Tlp.GREEN, reach=Reach.FEDERATION)
    assert (job.status, job.kind, job.attempts, job.error) == ("done", "auto", 1, None)
    assert job.result == {"batches": 1, "created": 2, "existing": 0, "format": "stix"}
    with sessions() as s:
        got = service.get_object(s, a.principal, indicator(1)["id"])
        assert got.owner_org_id == a.org_id
        assert (got.tlp, got.reach, got.source) == (Tlp.GREEN, Reach.FEDERATION, "vendor.json")
        assert got.object()["created_by_ref"] == CREATOR
        assert s.scalar(select(func.count()).select_from(payloads)) == 0
    again = submit(sessions, a, Upload(data, "vendor.json"))
    assert again.result == {"batches": 1, "created": 0, "existing": 2, "format": "stix"}


def test_a_failing_batch_stores_nothing(sessions: sessionmaker[Session]):
    a = add_member(sessions, "Org A")
    before = stored(sessions)
    data = bundle(indicator(1), indicator(2, valid_from="yesterday", pattern="[x"))
    job = submit(sessions, a, Upload(data, "bad.json"))
    assert job.status == "failed"
    assert job.error == "1 of 2 objects in bad.json are invalid"
    assert job.result is not None
    assert job.result["details"][0]["index"] == 1
    assert stored(sessions) == before


def _event(n: int, org: str, date: str = "2024-02-01") -> dict:
    event = copy.deepcopy(EVENT)
    event["Event"]["uuid"] = f"5e1d0b3a-{n:04d}-4a2b-9c3d-0a0b0c0d0e01"
    event["Event"]["Orgc"] = {"name": org, "uuid": f"5e1d0b3a-{n:04d}-4a2b-9c3d-0a0b0c0d0e02"}
    event["Event"]["date"] = date
    # A later date is a later edit: every timestamp moves, so every object is a new version.
    stamp = str(1706788800 + 86400 * (int(date[-2:]) - 1))
    event["Event"]["timestamp"] = stamp
    for k, attribute in enumerate(event["Event"]["Attribute"]):
        attribute["uuid"] = f"5e1d0b3a-{n:04d}-4a2b-9c3d-0a0b0c0d0f{k:02d}"
        attribute["timestamp"] = stamp
    return event


def test_a_failing_second_event_rolls_back_the_first(sessions: sessionmaker[Session]):
    a, b = add_member(sessions, "Org A"), add_member(sessions, "Org B")
    assert submit(sessions, b, Upload(orjson.dumps(_event(1, "X")), "b.json")).status == "done"
    before = stored(sessions)
    # The second event is a newer version of objects Org B owns, which Org A may not write.
    both = {"response": [_event(2, "Y"), _event(1, "X", "2024-02-02")]}
    job = submit(sessions, a, Upload(orjson.dumps(both), "two.json"))
    assert (job.status, job.error) == ("failed", "6 objects may not be stored by you")
    assert stored(sessions) == before


def test_csv_import_reports_rejected_lines(sessions: sessionmaker[Session]):
    a = add_member(sessions, "Org A")
    csv = CsvMapping.parse([], "csirtamericas")
    job = submit(sessions, a, Upload(CSIRTAMERICAS.encode(), "CR.csv"), csv=csv)
    assert job.status == "done"
    assert job.result is not None
    assert (job.result["created"], job.result["rows"]) == (4, 6)
    assert [r["line"] for r in job.result["rejected"]] == [5, 6, 7]
    with sessions() as s:
        page = service.list_objects(s, a.principal, service.ObjectQuery(types=["indicator"]))
        assert {o.object()["created_by_ref"] for o in page.items} == {a.principal.identity_ref}
        assert {o.tlp for o in page.items} == {Tlp.AMBER}


def test_transient_errors_are_retried_then_dead_lettered(
    sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
):
    a = add_member(sessions, "Org A")
    calls: list[int] = []
    real = pipeline.run_pipeline

    def flaky(item, ctx):
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("SELECT", {}, Exception("database is locked"))
        return real(item, ctx)

    monkeypatch.setattr(jobs, "run_pipeline", flaky)
    job = submit(sessions, a, Upload(bundle(indicator(1)), "x.json"))
    assert (job.status, job.attempts, job.error) == ("done", 2, None)

    def gone(item, ctx):
        raise OperationalError("SELECT", {}, Exception("database or disk is full"))

    monkeypatch.setattr(jobs, "run_pipeline", gone)
    job = submit(sessions, a, Upload(bundle(indicator(2)), "y.json"))
    assert (job.status, job.attempts) == ("dead", 3)
    assert job.error is not None and "database or disk is full" in job.error
    with sessions() as s:  # a dead job keeps its payload for inspection
        assert s.scalar(select(payloads.c.data).where(payloads.c.job_id == job.id)) is not None


def test_an_error_the_input_causes_is_not_retried(
    sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
):
    """Anything but a database failure comes back on every attempt: the job fails at once."""
    a = add_member(sessions, "Org A")

    def broken(item, ctx):
        raise KeyError("Attribute")

    monkeypatch.setattr(jobs, "run_pipeline", broken)
    job = submit(sessions, a, Upload(bundle(indicator(2)), "y.json"))
    assert (job.status, job.attempts) == ("failed", 1)
    assert job.error == "the importer could not read this input (KeyError: 'Attribute')"
    with sessions() as s:  # kept: it shows a case the importer does not handle yet
        assert s.scalar(select(payloads.c.data).where(payloads.c.job_id == job.id)) is not None


def test_a_job_is_claimed_once(sessions: sessionmaker[Session]):
    a = add_member(sessions, "Org A")
    with sessions() as s:
        job = jobs.enqueue(s, a.principal, Upload(b"{}", "x.json"), Options())
        assert jobs.claim(s, job.id) == 1  # the attempt number, which fences this run
        assert jobs.claim(s, job.id) is None
        s.commit()
    assert jobs.run_job(sessions, job.id).status == "running"


def test_worker_runs_the_queue_oldest_first(sessions: sessionmaker[Session]):
    a = add_member(sessions, "Org A")
    with sessions() as s:
        one = jobs.enqueue(s, a.principal, Upload(bundle(indicator(1)), "1.json"), Options())
        two = jobs.enqueue(s, a.principal, Upload(b"not json", "2.json"), Options())
        s.commit()
    assert jobs.work(sessions, once=True) == 2
    with sessions() as s:
        assert [(j.id, j.status) for j in jobs.list_jobs(s, a.principal)] == [
            (two.id, "failed"),
            (one.id, "done"),
        ]


def _left_running(sessions: sessionmaker[Session], member: Member, attempts: int, age: timedelta):
    """A job as a worker that stopped mid-job leaves it: running, claimed `age` ago."""
    with sessions() as s:
        job = jobs.enqueue(s, member.principal, Upload(bundle(indicator(1)), "1.json"), Options())
        s.execute(
            update(job_rows)
            .where(job_rows.c.id == job.id)
            .values(status="running", attempts=attempts, updated_at=datetime.now(UTC) - age)
        )
        s.commit()
    return job.id


def test_a_job_left_running_past_the_lease_runs_again(sessions: sessionmaker[Session]):
    a = add_member(sessions, "Org A")
    stale = _left_running(sessions, a, attempts=1, age=jobs.LEASE + timedelta(seconds=5))
    fresh = _left_running(sessions, a, attempts=1, age=timedelta(seconds=5))
    assert jobs.work(sessions, once=True) == 1
    with sessions() as s:
        again, busy = jobs.get_job(s, a.principal, stale), jobs.get_job(s, a.principal, fresh)
    assert (again.status, again.attempts, again.result) == (
        "done", 2, {"batches": 1, "created": 1, "existing": 0, "format": "stix"},
    )  # fmt: skip
    assert (busy.status, busy.attempts) == ("running", 1)  # within its lease: maybe still running


def test_a_job_that_stopped_its_worker_every_time_is_dead(sessions: sessionmaker[Session]):
    a = add_member(sessions, "Org A")
    before = stored(sessions)
    job_id = _left_running(sessions, a, attempts=jobs.MAX_ATTEMPTS, age=jobs.LEASE * 2)
    assert jobs.work(sessions, once=True) == 0
    with sessions() as s:
        job = jobs.get_job(s, a.principal, job_id)
        assert (job.status, job.error) == (
            "dead",
            "the worker or server stopped during this job 3 times",
        )
        assert s.scalar(select(func.count()).select_from(payloads)) == 1  # kept to inspect
    assert stored(sessions) == before


def test_background_worker_runs_queued_jobs_until_stopped(sessions: sessionmaker[Session]):
    a = add_member(sessions, "Org A")
    before = stored(sessions)
    worker = jobs.worker(sessions, 0.05)
    worker.start()
    try:
        with sessions() as s:
            job = jobs.enqueue(s, a.principal, Upload(bundle(indicator(1)), "1.json"), Options())
            s.commit()
        wait_until_done(sessions, a, job.id)
    finally:
        worker.stop()
    assert not worker.running
    assert stored(sessions) == before + 1


def wait_until_done(sessions: sessionmaker[Session], member: Member, job_id: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with sessions() as s:
            if jobs.get_job(s, member.principal, job_id).status == "done":
                return
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not run within 30 s")


def test_jobs_are_private_to_their_organisation(sessions: sessionmaker[Session]):
    a, b = add_member(sessions, "Org A"), add_member(sessions, "Org B")
    job = submit(sessions, a, Upload(bundle(indicator(1)), "x.json"))
    with sessions() as s:
        assert jobs.get_job(s, a.principal, job.id).id == job.id
        with pytest.raises(NotFound):
            jobs.get_job(s, b.principal, job.id)
        assert jobs.list_jobs(s, b.principal) == []


def test_reader_may_not_import(sessions: sessionmaker[Session]):
    r = add_member(sessions, "Org R", role="reader")
    job = submit(sessions, r, Upload(bundle(indicator(1)), "x.json"))
    assert (job.status, job.error) == ("failed", "the role 'reader' may not publish objects")
