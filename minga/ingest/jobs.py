"""The ingest runner: a job queue in a database table, with ack, retry and dead letter.

A job is one upload. `enqueue` stores it (bounded payload) in the caller's transaction;
`run_job` claims it, runs the pipeline in a transaction of its own and records the outcome:
done (committed with the objects), failed (bad input: nothing stored, never retried, the reason
kept) or, after `MAX_ATTEMPTS` database failures (busy, unreachable), dead: kept with its payload
to inspect. Only database failures are retried: anything else the pipeline raises for an upload
it will raise again, so it fails the job at once (its payload kept when it is a bug of ours).
Claiming is an UPDATE guarded by the status, so several workers never run the same job.
While a job runs, a heartbeat renews its lease (`minga.ingest.lease`); a job still "running"
with no heartbeat for `LEASE` was left by a worker or server that stopped mid-job (its
transaction rolled back, so nothing of it is stored): `work` puts it back in the queue, or in
the dead letter once it has used its attempts.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import DisconnectionError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker

from minga import audit
from minga.accounts.models import User
from minga.accounts.service import get_user, principal_for
from minga.background import Periodic
from minga.db import unit_of_work
from minga.errors import InvalidInput, MingaError, NotFound
from minga.events import outbox
from minga.ingest.csvfeed import CsvMapping
from minga.ingest.lease import HEARTBEAT, LEASE, Heartbeat, LeaseLost
from minga.ingest.models import jobs, payloads
from minga.ingest.pipeline import Context, Drafted, Options, Stored, Upload, run_pipeline
from minga.intel.stix import now_ts
from minga.policy import Principal, Reach, Tlp

log = logging.getLogger("minga.ingest")

MAX_BYTES = 100 * 1024 * 1024  # largest upload a job accepts
MAX_ATTEMPTS = 3
# What a later attempt may not meet again: the database busy, gone, or a concurrent write.
TRANSIENT = (OperationalError, InterfaceError, DisconnectionError, PoolTimeout, IntegrityError)
QUEUED, RUNNING, DONE, FAILED, DEAD = "queued", "running", "done", "failed", "dead"


@dataclass(frozen=True, slots=True)
class Job:
    id: int
    kind: str
    status: str
    attempts: int
    source: str
    error: str | None
    result: dict[str, Any] | None
    payload_size: int
    created: datetime
    updated: datetime

    def as_dict(self) -> dict[str, Any]:
        body = asdict(self)
        body["created"] = self.created.isoformat()
        body["updated"] = self.updated.isoformat()
        return body


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _job(row: Any) -> Job:
    return Job(
        row.id, row.kind, row.status, row.attempts, row.source, row.error,
        orjson.loads(row.result) if row.result else None, row.payload_size,
        _utc(row.created_at), _utc(row.updated_at),
    )  # fmt: skip


def _options_json(options: Options) -> str:
    return orjson.dumps(
        {
            "tlp": options.tlp.value if options.tlp else None,
            "reach": options.reach.value,
            "groups": list(options.group_ids),
            "strict": options.strict,
            "csv": {
                "columns": options.csv.columns,
                "delimiter": options.csv.delimiter,
                "header": options.csv.header,
                "preset": options.csv.preset,
            },
        }
    ).decode()


def _options(raw: str) -> Options:
    data = orjson.loads(raw)
    return Options(
        tlp=Tlp(data["tlp"]) if data.get("tlp") else None,
        reach=Reach(data["reach"]),
        group_ids=tuple(data.get("groups", ())),
        strict=data.get("strict", True),
        csv=CsvMapping(**data.get("csv", {})),
    )


def enqueue(
    session: Session,
    principal: Principal,
    upload: Upload,
    options: Options,
    max_bytes: int = MAX_BYTES,
) -> Job:
    """Queue one upload; the caller commits."""
    if len(upload.data) > max_bytes:
        raise InvalidInput(f"the upload is larger than the {max_bytes} byte limit")
    if not upload.data:
        raise InvalidInput(f"nothing to import: {upload.source or 'the upload'} is empty")
    now = datetime.now(UTC)
    job_id = session.execute(
        insert(jobs)
        .values(
            kind=upload.format,
            status=QUEUED,
            attempts=0,
            source=upload.source[:500],
            content_type=(upload.content_type or "")[:200] or None,
            options=_options_json(options),
            payload_size=len(upload.data),
            owner_user_id=principal.user_id,
            owner_org_id=principal.org_id,
            created_at=now,
            updated_at=now,
        )
        .returning(jobs.c.id)
    ).scalar_one()
    session.execute(insert(payloads).values(job_id=job_id, data=upload.data))
    audit.record(session, principal, "ingest.enqueue", "ingest-job", job_id, source=upload.source)
    return _load(session, job_id)


def _load(session: Session, job_id: int) -> Job:
    row = session.execute(select(jobs).where(jobs.c.id == job_id)).first()
    if row is None:
        raise NotFound(f"no ingest job {job_id}")
    return _job(row)


def get_job(session: Session, principal: Principal, job_id: int) -> Job:
    """A job of your organisation."""
    row = session.execute(
        select(jobs).where(jobs.c.id == job_id, jobs.c.owner_org_id == principal.org_id)
    ).first()
    if row is None:
        raise NotFound(f"no ingest job {job_id} of your organisation")
    return _job(row)


def list_jobs(session: Session, principal: Principal, limit: int = 100) -> list[Job]:
    stmt = (
        select(jobs)
        .where(jobs.c.owner_org_id == principal.org_id)
        .order_by(jobs.c.id.desc())
        .limit(limit)
    )
    return [_job(r) for r in session.execute(stmt)]


def claim(session: Session, job_id: int) -> int | None:
    """Mark a queued job running (one attempt more) and return that attempt's number (which
    fences this run); None if someone else has it."""
    done = session.execute(
        update(jobs)
        .where(jobs.c.id == job_id, jobs.c.status == QUEUED)
        .values(status=RUNNING, attempts=jobs.c.attempts + 1, updated_at=datetime.now(UTC))
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        return None
    return int(session.scalar(select(jobs.c.attempts).where(jobs.c.id == job_id)) or 0)


def next_queued(session: Session) -> int | None:
    return session.scalar(
        select(jobs.c.id).where(jobs.c.status == QUEUED).order_by(jobs.c.id).limit(1)
    )


def _finish(session: Session, job_id: int, attempt: int, status: str, *, error: str | None = None,
            result: dict[str, Any] | None = None, keep_payload: bool = False) -> None:  # fmt: skip
    """Record the outcome of this run; LeaseLost (roll back) if the run lost the job."""
    done = session.execute(
        update(jobs)
        .where(jobs.c.id == job_id, jobs.c.status == RUNNING, jobs.c.attempts == attempt)
        .values(
            status=status,
            error=error,
            result=orjson.dumps(result).decode() if result is not None else None,
            updated_at=datetime.now(UTC),
        )
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise LeaseLost(f"ingest job {job_id} was taken over while attempt {attempt} ran")
    if status != QUEUED:  # an outcome (done, failed, dead), not a retry
        owner = session.execute(
            select(jobs.c.owner_user_id, jobs.c.kind, jobs.c.source).where(jobs.c.id == job_id)
        ).one()
        org_id = session.scalar(select(User.org_id).where(User.id == owner.owner_user_id))
        outbox.emit(
            session,
            outbox.INGEST_JOB,
            actor_org_id=org_id,
            actor_user_id=owner.owner_user_id,
            subject=f"ingest-job:{job_id}",
            payload={"status": status, "kind": owner.kind, "source": owner.source,
                     "error": error, "result": result},
        )  # fmt: skip
    if not keep_payload:
        session.execute(delete(payloads).where(payloads.c.job_id == job_id))


def _summary(outputs: list[Any], notes: dict[str, Any]) -> dict[str, Any]:
    stored = [o for o in outputs if isinstance(o, Stored)]
    drafted = [o for o in outputs if isinstance(o, Drafted)]
    result: dict[str, Any] = {
        "batches": len(stored),
        "created": sum(s.created for s in stored),
        "existing": sum(s.existing for s in stored),
    }
    if drafted:
        result["draft_id"] = drafted[0].draft_id
        result["draft_items"] = drafted[0].items
        if drafted[0].limits:
            result["draft_limits"] = list(drafted[0].limits)
    result.update(notes)
    return result


def _attempt(
    sessions: sessionmaker[Session],
    job_id: int,
    attempt: int,
    on_batch: Callable[[Stored], None] | None,
) -> None:
    with sessions() as session:
        row = session.execute(select(jobs).where(jobs.c.id == job_id)).one()
        data = session.scalar(select(payloads.c.data).where(payloads.c.job_id == job_id))
        if data is None:
            raise InvalidInput("the job's payload is gone")
        principal = principal_for(session, get_user(session, row.owner_user_id))
        ctx = Context(session, principal, _options(row.options), now_ts(), on_batch=on_batch)
        upload = Upload(bytes(data), row.source, row.content_type, row.kind)
        outputs = run_pipeline(upload, ctx)
        _finish(session, job_id, attempt, DONE, result=_summary(outputs, ctx.notes))
        session.commit()


def _outcome(exc: Exception, attempt: int) -> tuple[str, str, dict[str, Any] | None, bool]:
    """(status, error, result, keep payload) of a run that raised `exc`."""
    if isinstance(exc, MingaError):  # the input is wrong: retrying cannot help
        details = {"details": exc.details} if exc.details is not None else None
        return FAILED, exc.message, details, False
    said = f"{type(exc).__name__}: {exc}"[:1000]
    if isinstance(exc, TRANSIENT):  # the database, not the input: another attempt may pass
        return (DEAD if attempt >= MAX_ATTEMPTS else QUEUED), said, None, True
    # Anything else this input raised, it raises again: fail now, keep the payload to inspect.
    log.error("ingest job failed on input the importer could not handle", exc_info=exc)
    return FAILED, f"the importer could not read this input ({said})", None, True


def run_job(
    sessions: sessionmaker[Session],
    job_id: int,
    *,
    on_batch: Callable[[Stored], None] | None = None,
    backoff: float = 0.5,
    heartbeat: float = HEARTBEAT.total_seconds(),
) -> Job:
    """Run a queued job to its end (done, failed or dead) and return it."""
    while True:
        with unit_of_work(sessions) as session:
            attempt = claim(session, job_id)
            if attempt is None:
                return _load(session, job_id)
        retry = False
        try:
            with Heartbeat(sessions, job_id, attempt, heartbeat):
                _attempt(sessions, job_id, attempt, on_batch)
        except LeaseLost:
            log.warning("ingest job %s was re-queued while attempt %s ran", job_id, attempt)
        except Exception as exc:
            if isinstance(exc, TRANSIENT):
                log.warning("ingest job %s, attempt %s: %s", job_id, attempt, exc)
            status, error, result, keep = _outcome(exc, attempt)
            try:
                with unit_of_work(sessions) as session:
                    _finish(session, job_id, attempt, status, error=error, result=result,
                            keep_payload=keep)  # fmt: skip
                retry = status == QUEUED
            except LeaseLost:  # someone else runs it now: report what it shows
                pass
        if retry:
            time.sleep(backoff * attempt)
            continue
        with sessions() as session:
            return _load(session, job_id)


def requeue_stale(session: Session, *, lease: timedelta = LEASE) -> int:
    """Queue again (or bury) the jobs left running past the lease; how many there were."""
    now = datetime.now(UTC)
    stale = (jobs.c.status == RUNNING, jobs.c.updated_at < now - lease)
    if session.scalar(select(jobs.c.id).where(*stale).limit(1)) is None:
        return 0  # the usual case: a read, so that an idle worker takes no write lock
    stopped = "the worker or server stopped during this job"
    buried = session.execute(
        update(jobs)
        .where(*stale, jobs.c.attempts >= MAX_ATTEMPTS)
        .values(status=DEAD, error=f"{stopped} {MAX_ATTEMPTS} times", updated_at=now)
    )
    queued = session.execute(
        update(jobs).where(*stale).values(status=QUEUED, error=stopped, updated_at=now)
    )
    count = int(buried.rowcount) + int(queued.rowcount)  # type: ignore[attr-defined]
    if count:
        log.warning("%d ingest jobs were left running past the lease: queued again or dead", count)
    return count


def work(
    sessions: sessionmaker[Session],
    *,
    once: bool = False,
    poll: float = 1.0,
    lease: timedelta = LEASE,
) -> int:
    """Run queued jobs oldest first (stale running ones go back to the queue first); with
    `once`, stop when the queue is empty. Jobs run."""
    count = 0
    while True:
        with unit_of_work(sessions) as session:
            requeue_stale(session, lease=lease)
            job_id = next_queued(session)
        if job_id is None:
            if once:
                return count
            time.sleep(poll)
            continue
        run_job(sessions, job_id)
        count += 1


def worker(sessions: sessionmaker[Session], seconds: float) -> Periodic:
    """A background loop that runs the queue dry every ``seconds`` while the node serves."""
    return Periodic("ingest-jobs", seconds, lambda: work(sessions, once=True))
