"""Ingest jobs run by `minga worker` from the bus's jobs stream (`minga.events.bus`).

A job message is acknowledged only after `run_job` returned, so a worker killed mid-job leaves
it unacknowledged and NATS hands it to another worker. That worker finds the job still
"running" (its killed run's claim): `take_over` puts it back in the queue before `run_job`
claims it again, with one attempt more, which fences the killed run — were it only cut off
from NATS and still alive, its final update matches no row and it stores nothing. A message
delivered more than `MINGA_EVENT_BUS_MAX_DELIVERIES` times (its workers keep dying on it) is
dead-lettered and its job `bury`-ed: marked dead, its payload kept to inspect.
`orphans` puts on the bus the jobs no message will run (a server that stopped during a
`wait=true` upload, jobs queued before the node went on the bus).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from minga.accounts.models import User
from minga.db import unit_of_work
from minga.events import bus, outbox
from minga.ingest.jobs import DEAD, QUEUED, RUNNING, Job, requeue_stale, run_job
from minga.ingest.lease import LEASE
from minga.ingest.models import jobs


def take_over(session: Session, job_id: int) -> bool:
    """Queue again a job whose message came back while it shows running; whether it did."""
    done = session.execute(
        update(jobs)
        .where(jobs.c.id == job_id, jobs.c.status == RUNNING)
        .values(
            status=QUEUED,
            error="its worker stopped during this job",
            updated_at=datetime.now(UTC),
        )
    )
    return done.rowcount == 1  # type: ignore[attr-defined]


def run_delivered(sessions: sessionmaker[Session], job_id: int, delivery: int) -> Job:
    """Run the job a message named, on its `delivery`-th delivery."""
    if delivery > 1:
        with unit_of_work(sessions) as session:
            take_over(session, job_id)
    return run_job(sessions, job_id)


def bury(session: Session, job_id: int, deliveries: int) -> bool:
    """Mark a job dead whose message was delivered `deliveries` times without an end."""
    error = f"its worker stopped {deliveries} times during this job"
    done = session.execute(
        update(jobs)
        .where(jobs.c.id == job_id, jobs.c.status.in_((QUEUED, RUNNING)))
        .values(status=DEAD, error=error, updated_at=datetime.now(UTC))
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        return False  # it ended after all, or is gone
    row = session.execute(
        select(jobs.c.owner_user_id, jobs.c.kind, jobs.c.source).where(jobs.c.id == job_id)
    ).one()
    org_id = session.scalar(select(User.org_id).where(User.id == row.owner_user_id))
    outbox.emit(
        session,
        outbox.INGEST_JOB,
        actor_org_id=org_id,
        actor_user_id=row.owner_user_id,
        subject=f"ingest-job:{job_id}",
        payload={"status": DEAD, "kind": row.kind, "source": row.source, "error": error,
                 "result": None},
    )  # fmt: skip
    return True


def orphans(session: Session, *, every_queued: bool = False, lease: timedelta = LEASE) -> int:
    """Announce on the bus the jobs left running past their lease (queued again first) and,
    with `every_queued`, every queued job; how many. A job announced twice runs once: the
    second message finds it claimed or ended."""
    now = datetime.now(UTC)
    stale = session.scalars(
        select(jobs.c.id).where(jobs.c.status == RUNNING, jobs.c.updated_at < now - lease)
    ).all()
    if stale:
        requeue_stale(session, lease=lease)
    wanted = select(jobs.c.id).where(jobs.c.status == QUEUED)
    if not every_queued:
        wanted = wanted.where(jobs.c.id.in_(stale))
    found = session.scalars(wanted.order_by(jobs.c.id)).all() if stale or every_queued else []
    for job_id in found:
        bus.announce_job(session, job_id)
    return len(found)
