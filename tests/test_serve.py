"""`minga serve --workers 2` for real on a loopback port: concurrent writes and reads through
REST spread over both worker processes lose nothing, store nothing twice, and never answer 5xx."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

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
    node = Served(db_url, tmp_path / "serve.log", workers=2)
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
    assert len(_workers(node.process.pid)) == 2

    writers = [add_member(sessions, "Org A"), add_member(sessions, "Org B")]
    reader = add_member(sessions, "Org C")
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
                    indicator(0, id=f"indicator--{uuid.uuid4()}", name=f"w{w} r{r} #{k}")
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
    assert sorted(listed) == sorted(acked)  # nothing lost, nothing twice
    with sessions() as s:
        stored = s.scalar(select(func.count()).where(objects.c.type == "indicator"))
    assert stored == len(acked)
