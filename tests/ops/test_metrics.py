"""GET /metrics (Prometheus): off by default, token-protected when on; requests by route
template and status; the ingest queue from the database; with `--workers 2` every scrape,
whichever worker answers, counts the requests all workers served. JSON logs are JSON."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from minga.app import create_app
from minga.settings import Settings
from tests.intel.served import Served

TOKEN = "scrape-secret-for-tests"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample (labels in any order), 0 when absent."""
    for line in text.splitlines():
        if not line.startswith(name + "{") and line.split(" ")[0] != name:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}")[0]))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def _total(text: str, name: str, **labels: str) -> float:
    """The sum of every sample of `name` whose labels include `labels`."""
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{"):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}")[0]))
        if all(found.get(k) == v for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_metrics_are_off_unless_a_token_is_set(settings: Settings, engine: Engine):
    with TestClient(create_app(settings, engine=engine)) as client:
        assert client.get("/metrics", headers=AUTH).status_code == 404


def test_metrics_count_routes_by_template(settings: Settings, engine: Engine):
    on = settings.model_copy(update={"metrics_token": TOKEN})
    with TestClient(create_app(on, engine=engine)) as client:
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
        before = client.get("/metrics", headers=AUTH)
        assert before.status_code == 200
        assert before.headers["content-type"].startswith("text/plain")
        for _ in range(3):
            assert client.get("/api/health").status_code == 200
        assert client.get("/api/objects/indicator--nope").status_code in (401, 404)
        after = client.get("/metrics", headers=AUTH).text
    health = {"route": "/api/health", "method": "GET", "status": "200"}
    assert (
        _sample(after, "minga_http_requests_total", **health)
        - _sample(before.text, "minga_http_requests_total", **health)
        == 3
    )
    assert 'route="/api/objects/{stix_id}"' in after
    assert "indicator--nope" not in after  # templates, never raw paths
    # Summed over every series of the route: other apps this test process made earlier may
    # have left series of their own in the process-wide registry.
    timed = "minga_http_request_duration_seconds_count"
    count = _total(after, timed, route="/api/health") - _total(
        before.text, timed, route="/api/health"
    )
    assert count >= 3
    assert _sample(after, "minga_ingest_queue_depth") == 0
    assert 'minga_ingest_jobs{status="queued"}' in after


@pytest.fixture
def two_workers(db_url: str, tmp_path: Path):
    node = Served(db_url, tmp_path / "serve.log", workers=2, env={"MINGA_METRICS_TOKEN": TOKEN})
    with node as url:
        yield url


def test_every_worker_answers_the_whole_node(two_workers: str):
    with httpx.Client(base_url=two_workers, timeout=30) as http:
        first = http.get("/metrics", headers=AUTH).text
        ready = _sample(first, "minga_http_requests_total", route="/api/health", status="200")
        assert ready >= 1  # the start-up probe of tests.intel.served
        for _ in range(20):  # new connections: the kernel spreads them over both workers
            assert httpx.get(f"{two_workers}/api/health", timeout=30).status_code == 200
        for _ in range(6):
            text = httpx.get(f"{two_workers}/metrics", headers=AUTH, timeout=30).text
            health = _sample(text, "minga_http_requests_total", route="/api/health", status="200")
            assert health == ready + 20  # the sum over both workers, whichever one answers
        assert http.get("/metrics").status_code == 401


def test_json_logs_are_one_object_per_line(db_url: str, tmp_path: Path):
    log = tmp_path / "serve.log"
    env = {"MINGA_LOG_FORMAT": "json", "MINGA_LOG_LEVEL": "info"}
    with Served(db_url, log, workers=1, env=env) as url:
        assert httpx.get(f"{url}/api/health", timeout=30).status_code == 200
    lines = [line for line in log.read_text().splitlines() if line.strip()]
    entries = [orjson.loads(line) for line in lines]  # every line is JSON
    assert all({"ts", "level", "logger", "message"} <= e.keys() for e in entries)
    access = [e for e in entries if e["logger"] == "uvicorn.access"]
    assert any(e["path"] == "/api/health" and e["status"] == 200 for e in access), access
