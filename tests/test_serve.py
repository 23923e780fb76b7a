"""`minga serve --workers 2` for real on a loopback port: concurrent writes and reads through
REST spread over both worker processes lose nothing, store nothing twice, and never answer 5xx;
the supervisor runs the ingest queue; the workers end with it when it is killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from minga.ingest import jobs
from minga.ingest.pipeline import Options, Upload
from minga.intel.models import objects
from tests.conftest import Member, add_member
from tests.factories import indicator
from tests.intel.served import Served

WRITERS = 4
READERS = 2
ROUNDS = 6
BATCH = 25


@pytest.fixture
def served(db_url: str, tmp_path: Path) -> Iterator[tuple[str, Served]]:
    node = Served(
        db_url, tmp_path / "serve.log", workers=2, env={"MINGA_INGEST_WORKER_SECONDS": "1"}
    )
    with node as url:
        yield url, node


def _workers(parent: int) -> list[int]:
    """The worker processes `minga serve` started (uvicorn spawns them)."""
    children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
    return [
        int(pid) for pid in children if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
    ]


def test_two_workers_serve_concurrent_writes_and_reads(
    served: tuple[str, Served], sessions: sessionmaker[Session]
):
    url, node = served
    assert node.process is not None
    workers = _workers(node.process.pid)
    assert len(workers) == 2

    writers = [add_member(sessions, "Org A"), add_member(sessions, "Org B")]
    reader = add_member(sessions, "Org C")
    with sessions() as s:  # queued as an upload whose server stopped before running it
        upload = Upload(orjson.dumps({"type": "bundle", "id": f"bundle--{uuid.uuid4()}",
                                      "objects": [indicator(1)]}), "lost.json")  # fmt: skip
        job = jobs.enqueue(s, writers[0].principal, upload, Options())
        s.commit()
    acked: list[str] = []
    statuses: Counter[int] = Counter()
    problems: list[BaseException] = []
    lock = threading.Lock()
    writing = threading.Event()
    writing.set()

    def write(w: int, member: Member) -> None:
        with httpx.Client(base_url=url, timeout=60) as http:
            for r in range(ROUNDS):
                batch = [
                    # Each names a value of its own: a value its organisation published
                    # before would be linked to that indicator (no silent duplicates).
                    indicator(
                        0,
                        id=f"indicator--{uuid.uuid4()}",
                        name=f"w{w} r{r} #{k}",
                        value=f"10.{w}.{r}.{k}",
                    )
                    for k in range(BATCH)
                ]
                got = http.post("/api/objects", json=batch, headers=member.headers)
                with lock:
                    statuses[got.status_code] += 1
                    if got.status_code == 201:
                        acked.extend(c["id"] for c in got.json()["created"])

    def read() -> None:
        # A new connection per request, so the reads land on both workers.
        while writing.is_set():
            with lock:
                some = acked[-3:]
            got = [httpx.get(f"{url}/api/objects", params={"limit": 50}, headers=reader.headers)]
            got += [httpx.get(f"{url}/api/objects/{i}", headers=reader.headers) for i in some]
            with lock:
                statuses.update(r.status_code for r in got)

    def guarded(target: Any, *args: Any) -> threading.Thread:
        def run() -> None:
            try:
                target(*args)
            except BaseException as exc:  # reported by the test thread
                problems.append(exc)

        return threading.Thread(target=run)

    write_threads = [guarded(write, w, writers[w % 2]) for w in range(WRITERS)]
    read_threads = [guarded(read) for _ in range(READERS)]
    for t in [*write_threads, *read_threads]:
        t.start()
    for t in write_threads:
        t.join()
    writing.clear()
    for t in read_threads:
        t.join()
    assert problems == []
    deadline = time.monotonic() + 60  # the supervisor's queue runner looks every second
    with sessions() as s:
        while jobs.get_job(s, writers[0].principal, job.id).status in ("queued", "running"):
            s.rollback()
            if time.monotonic() > deadline:
                break
            time.sleep(0.2)
    assert set(statuses) <= {200, 201}, statuses  # no 5xx, and no 409/503 either
    assert statuses[201] == WRITERS * ROUNDS

    listed: list[str] = []
    cursor: str | None = None
    with httpx.Client(base_url=url, timeout=60) as http:
        while True:
            params: dict[str, Any] = {"type": "indicator", "limit": 1000}
            if cursor:
                params["cursor"] = cursor
            page = http.get("/api/objects", params=params, headers=reader.headers).json()
            listed += [item["object"]["id"] for item in page["objects"]]
            cursor = page["next"]
            if cursor is None:
                break
    assert len(acked) == WRITERS * ROUNDS * BATCH == len(set(acked))
    # Nothing lost, nothing twice (and the queued upload's indicator, run by the supervisor).
    assert sorted(listed) == sorted([*acked, indicator(1)["id"]])
    with sessions() as s:
        stored = s.scalar(select(func.count()).where(objects.c.type == "indicator"))
    assert stored == len(acked) + 1

    with sessions() as s:
        assert jobs.get_job(s, writers[0].principal, job.id).status == "done"
    os.kill(node.process.pid, signal.SIGKILL)
    assert _ended(workers, deadline=time.monotonic() + 30)


def _ended(pids: list[int], deadline: float) -> bool:
    while any(Path(f"/proc/{pid}").exists() for pid in pids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


ARENAS = """
import ctypes, sys, threading
from minga.serve import bound_malloc_arenas
if sys.argv[1] == "bound":
    bound_malloc_arenas()
def churn():
    for _ in range(200):
        kept = [bytes(2000) for _ in range(500)]
        del kept
threads = [threading.Thread(target=churn) for _ in range(12)]
for t in threads: t.start()
for t in threads: t.join()
ctypes.CDLL(None).malloc_stats()  # to stderr: one "Arena N:" line per arena
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc arenas")
def test_a_worker_keeps_at_most_two_malloc_arenas():
    def arenas(mode: str) -> int:
        done = subprocess.run(
            [sys.executable, "-c", ARENAS, mode], capture_output=True, text=True, check=True
        )
        return done.stderr.count("Arena ")

    assert arenas("bound") <= 2
    assert arenas("free") > 2  # what the threads take without the bound
