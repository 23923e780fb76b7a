"""Prometheus metrics (prometheus_client): requests by route template, method and status,
their latency, and the ingest queue read from the database at each scrape.

With `minga serve --workers N` each worker is a process of its own: `minga serve` gives them
one fresh PROMETHEUS_MULTIPROC_DIR and a scrape (answered by any worker) adds up every
worker's counters and histograms, so the figures are the node's, not one worker's. The
ingest queue comes from the database, so it is the node's whatever process answers.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import UTC
from pathlib import Path

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.types import Scope

from minga.events.counts import EventCounts

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_LATEST
UNMATCHED = "unmatched"  # paths no route answers: one label, however many there are

REQUESTS = Counter(
    "minga_http_requests",
    "HTTP requests answered, by route template, method and status.",
    ["route", "method", "status"],
)
LATENCY = Histogram(
    "minga_http_request_duration_seconds",
    "Time to answer an HTTP request (to the end of its body), by route template and method.",
    ["route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)


def route_of(scope: Scope) -> str:
    """The route template that answered (`/api/objects/{object_id}`), never the raw path."""
    path = getattr(scope.get("route"), "path", None)
    return str(path) if path else UNMATCHED


_counters: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}


def observe(scope: Scope, status: int, seconds: float) -> None:
    """Count one answered request of `scope` and its time (`minga.app.Edge` calls this).

    The labelled series are kept once looked up: `labels()` takes a lock and builds a key on
    every call, and a node answers the same few routes over and over."""
    route, method = route_of(scope), str(scope.get("method", ""))
    key = (route, method, status)
    found = _counters.get(key)
    if found is None:
        found = (REQUESTS.labels(route, method, str(status)), LATENCY.labels(route, method))
        if len(_counters) < 10_000:  # route templates: a bounded set, but bound it anyway
            _counters[key] = found
    found[0].inc()
    found[1].observe(seconds)


class IngestQueue(Collector):
    """Ingest jobs by status and the queue's depth and oldest waiting job, from the database."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def collect(self) -> Iterator[Metric]:
        from minga.ingest.jobs import QUEUED
        from minga.ingest.models import jobs

        with self.sessions() as s:
            by = select(jobs.c.status, func.count()).group_by(jobs.c.status)
            counts = {str(status): int(n) for status, n in s.execute(by)}
            oldest = s.scalar(select(func.min(jobs.c.created_at)).where(jobs.c.status == QUEUED))
        by_status = GaugeMetricFamily(
            "minga_ingest_jobs", "Ingest jobs kept, by status.", labels=["status"]
        )
        for status in ("queued", "running", "done", "failed", "dead"):
            by_status.add_metric([status], counts.get(status, 0))
        yield by_status
        yield GaugeMetricFamily(
            "minga_ingest_queue_depth",
            "Ingest jobs waiting to run (queued).",
            value=counts.get(QUEUED, 0),
        )
        age = 0.0
        if oldest is not None:  # SQLite gives back naive datetimes, stored in UTC
            aware = oldest if oldest.tzinfo else oldest.replace(tzinfo=UTC)
            age = max(0.0, time.time() - aware.timestamp())
        yield GaugeMetricFamily(
            "minga_ingest_queue_oldest_seconds",
            "Age of the oldest queued ingest job (0 when none waits).",
            value=age,
        )


def render(sessions: sessionmaker[Session]) -> bytes:
    """The exposition text: this node's request metrics (every worker's) and its queue."""
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        own = generate_latest(registry)
    else:
        own = generate_latest(REGISTRY)
    queue = CollectorRegistry(auto_describe=False)
    queue.register(IngestQueue(sessions))
    queue.register(EventCounts(sessions))  # events per kind, kept by the bus consumer
    return own + generate_latest(queue)


def fresh_multiproc_dir(path: Path) -> None:
    """Empty (or make) the directory the workers share; old files would be added up again."""
    path.mkdir(parents=True, exist_ok=True)
    for old in path.glob("*.db"):
        old.unlink()
