"""Job leases: a running job proves it is alive by renewing its row every `HEARTBEAT`.

A job whose row has not been renewed for `LEASE` was left by a worker or server that stopped
(killed, crashed, power cut); its transaction rolled back with it, so nothing of it is stored and
the queue may run it again. The claim's attempt number fences the job: a run that lost its lease
(someone else re-queued it) finds its final update matching no row and stores nothing.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from minga.db import unit_of_work
from minga.ingest.models import jobs

log = logging.getLogger("minga.ingest")

HEARTBEAT = timedelta(seconds=10)
# Several heartbeats: a renewal may wait up to SQLite's 10 s busy timeout behind another writer.
LEASE = timedelta(seconds=45)
RUNNING = "running"


class LeaseLost(Exception):
    """The job was re-queued while this run still worked on it: this run must store nothing."""


def renew(session: Session, job_id: int, attempt: int) -> bool:
    """Renew the lease of this run of the job; False if the run no longer holds it."""
    done = session.execute(
        update(jobs)
        .where(jobs.c.id == job_id, jobs.c.status == RUNNING, jobs.c.attempts == attempt)
        .values(updated_at=datetime.now(UTC))
    )
    return done.rowcount == 1  # type: ignore[attr-defined]


class Heartbeat:
    """A daemon thread renewing one job's lease while the job runs (a context manager)."""

    def __init__(
        self, sessions: sessionmaker[Session], job_id: int, attempt: int, every: float
    ) -> None:
        self.sessions, self.job_id, self.attempt, self.every = sessions, job_id, attempt, every
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"minga-job-{job_id}-heartbeat", daemon=True
        )

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                with unit_of_work(self.sessions) as session:
                    if not renew(session, self.job_id, self.attempt):
                        return  # finished, or re-queued: nothing left to keep alive
            except Exception as exc:  # a busy or absent database: the next beat tries again
                log.warning("ingest job %s: heartbeat not recorded: %s", self.job_id, exc)
