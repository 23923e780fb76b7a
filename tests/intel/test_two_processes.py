"""Two `minga serve` processes on one database, concurrent writers through both.

- Resuming readers (REST `added_after` + `cursor`, and the TAXII puller with `added_after` +
  `next`) see every acknowledged version exactly once: positions are commit-ordered.
- Concurrent new versions of the same ids leave exactly one latest version per id.
"""

from __future__ import annotations

import shutil
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from minga.db import make_engine, make_sessionmaker
from minga.intel import service
from minga.intel.models import objects
from minga.taxii import puller
from minga.taxii.models import DEFAULT_COLLECTION_ID
from tests.conftest import Member, add_member
from tests.factories import indicator
from tests.intel.served import Served

TAXII = "application/taxii+json;version=2.1"
OBJECTS = f"/taxii2/api/collections/{DEFAULT_COLLECTION_ID}/objects/"
WRITERS = 6  # three per process
ROUNDS = 8
BATCH = 40  # large enough that a write spends time between taking positions and committing


@pytest.fixture
def nodes(db_url: str, tmp_path: Path) -> Iterator[tuple[str, str]]:
    served = [Served(db_url, tmp_path / f"serve-{n}.log") for n in (1, 2)]
    with ExitStack() as stack:
        for each in served:
            stack.callback(each.__exit__)
            each.start()  # both start at once
        yield stack.enter_context(served[0]), stack.enter_context(served[1])


def _write(http: httpx.Client, member: Member, batch: list[dict[str, Any]], taxii: bool) -> Any:
    """Store `batch` by REST or TAXII; the (id, version) pairs the node acknowledged."""
    if taxii:
        r = http.post(
            OBJECTS,
            content=orjson.dumps({"objects": batch}),
            headers={**member.headers, "Accept": TAXII, "Content-Type": TAXII},
        )
        assert r.status_code == 202, r.text
        assert r.json()["failure_count"] == 0, r.text
        return [(s["id"], s["version"]) for s in r.json()["successes"]]
    r = http.post("/api/objects", json=batch, headers=member.headers)
    assert r.status_code == 201, r.text
    return [(c["id"], c["version"]) for c in r.json()["created"]]


def _run_writers(
    urls: tuple[str, str], members: list[Member], make: Callable[[int, int], list[dict[str, Any]]]
) -> list[tuple[str, str]]:
    """WRITERS threads, alternating processes and REST/TAXII; every acknowledged version."""
    acked: list[tuple[str, str]] = []
    problems: list[BaseException] = []
    lock = threading.Lock()

    def writer(w: int) -> None:
        try:
            with httpx.Client(base_url=urls[w % 2], timeout=60) as http:
                for r in range(ROUNDS):
                    got = _write(http, members[w % len(members)], make(w, r), (w + r) % 2 == 0)
                    with lock:
                        acked.extend(got)
        except BaseException as exc:  # reported by the test thread
            problems.append(exc)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if problems:
        raise problems[0]
    return acked


def _rest_reader(url: str, reader: Member, done: threading.Event) -> list[tuple[str, str]]:
    """Walk `order=oldest` pages by cursor; at the end resume from the last date_added."""
    seen: list[tuple[str, str]] = []
    after: str | None = None
    with httpx.Client(base_url=url, timeout=60) as http:
        while True:
            last_round = done.is_set()
            cursor: str | None = None
            while True:
                params: dict[str, Any] = {"type": "indicator", "order": "oldest", "limit": 1000}
                if cursor:
                    params["cursor"] = cursor
                elif after:
                    params["added_after"] = after
                r = http.get("/api/objects", params=params, headers=reader.headers)
                assert r.status_code == 200, r.text
                for item in r.json()["objects"]:
                    seen.append((item["object"]["id"], item["meta"]["version"]))
                    after = item["meta"]["date_added"]
                cursor = r.json()["next"]
                if cursor is None:
                    break
            if last_round:
                return seen


def _puller(
    url: str, reader: Member, local: sessionmaker[Session], done: threading.Event
) -> tuple[int, int]:
    """Pull the remote collection again and again (TAXII added_after + next); (stored, existing)."""
    importer = add_member(local, "Local L")
    with local() as s:
        feed = puller.add_feed(
            s, name="remote", url=f"{url}/taxii2/", collection="all", user_id=importer.user_id
        )
        s.commit()
        feed_id = feed.id
    stored = existing = 0
    while True:
        last_round = done.is_set()
        got = puller.pull_feed(local, feed_id, token=reader.token, limit=50)
        stored, existing = stored + got.stored, existing + got.existing
        assert got.skipped == 0, got.problems
        if last_round:
            return stored, existing


def _in_thread(target: Callable[..., Any], *args: Any, **kwargs: Any) -> Callable[[], Any]:
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = target(*args, **kwargs)
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()

    def result() -> Any:
        thread.join()
        if "error" in box:
            raise box["error"]
        return box["value"]

    return result


def test_resuming_readers_see_every_acknowledged_version_exactly_once(
    nodes: tuple[str, str],
    sessions: sessionmaker[Session],
    sqlite_template: Path,
    tmp_path: Path,
):
    writers = [add_member(sessions, "Org A"), add_member(sessions, "Org B")]
    reader = add_member(sessions, "Org C")
    shutil.copy(sqlite_template, tmp_path / "local.db")
    local_engine = make_engine(f"sqlite:///{tmp_path / 'local.db'}")
    local = make_sessionmaker(local_engine)

    def batch(w: int, r: int) -> list[dict[str, Any]]:
        return [
            # A value of its own each (a value published again links to the first indicator).
            indicator(
                0, id=f"indicator--{uuid.uuid4()}", name=f"w{w} r{r} #{k}", value=f"10.{w}.{r}.{k}"
            )
            for k in range(BATCH)
        ]

    done = threading.Event()
    rest = _in_thread(_rest_reader, nodes[1], reader, done)
    pulled = _in_thread(_puller, nodes[0], reader, local, done)
    try:
        acked = _run_writers(nodes, writers, batch)
    finally:
        done.set()
    seen_rest = rest()
    stored, existing = pulled()

    assert len(acked) == WRITERS * ROUNDS * BATCH == len(set(acked))
    assert Counter(seen_rest) == Counter(acked)  # nothing missed, nothing twice
    assert (stored, existing) == (len(acked) + 3, 0)  # + the identities of A, B and C
    with local() as s:
        ids = s.scalars(select(objects.c.stix_id).where(objects.c.type == "indicator")).all()
    assert sorted(ids) == sorted(i for i, _ in acked)
    local_engine.dispose()

    last = max(_dates_added(nodes[1], reader))
    seen = _slow_commit_phase(nodes, sessions, [*writers, reader], last)
    assert sorted(seen) == [indicator(1)["id"], indicator(2)["id"]]


def _dates_added(url: str, reader: Member) -> list[str]:
    params = {"type": "indicator", "limit": 1}
    r = httpx.get(f"{url}/api/objects", params=params, headers=reader.headers)
    return [item["meta"]["date_added"] for item in r.json()["objects"]]


def _slow_commit_phase(
    nodes: tuple[str, str], sessions: sessionmaker[Session], members: list[Member], after: str
) -> list[str]:
    """A write that took its positions but has not committed holds back the writes after it:
    a reader between the two never passes the slow one. The ids a resuming reader saw."""
    slow, fast, reader = members
    seen: list[str] = []

    def read() -> None:
        nonlocal after
        params = {"type": "indicator", "order": "oldest", "limit": 1000, "added_after": after}
        r = httpx.get(f"{nodes[1]}/api/objects", params=params, headers=reader.headers)
        for item in r.json()["objects"]:
            seen.append(item["object"]["id"])
            after = item["meta"]["date_added"]

    with sessions() as held:
        service.create_objects(held, slow.principal, [indicator(1)])
        other = _in_thread(
            httpx.post, f"{nodes[0]}/api/objects", json=[indicator(2)], headers=fast.headers
        )
        time.sleep(0.5)  # time for the other write to commit, were it not held back
        read()
        held.commit()
    assert other().status_code == 201
    read()
    return seen


def _second(n: int) -> str:
    return f"2024-03-02T00:{n // 60:02d}:{n % 60:02d}.000Z"


def test_concurrent_new_versions_leave_exactly_one_latest_per_id(
    nodes: tuple[str, str], sessions: sessionmaker[Session]
):
    owner = add_member(sessions, "Org A")
    reader = add_member(sessions, "Org C")
    ids = range(1, 4)
    first = [indicator(n) for n in ids]
    assert httpx.post(f"{nodes[0]}/api/objects", json=first, headers=owner.headers).is_success

    def versions(w: int, r: int) -> list[dict[str, Any]]:
        # Every writer and round its own `modified`; the newest is second WRITERS * ROUNDS.
        return [indicator(n, modified=_second(1 + r * WRITERS + w)) for n in ids]

    acked = _run_writers(nodes, [owner], versions)
    assert len(acked) == WRITERS * ROUNDS * len(ids)

    with sessions() as s:
        latest = s.execute(
            select(objects.c.stix_id, objects.c.modified_us)
            .where(objects.c.type == "indicator", objects.c.is_latest)
            .order_by(objects.c.stix_id)
        ).all()
        newest = s.execute(
            select(objects.c.stix_id, func.max(objects.c.modified_us))
            .where(objects.c.type == "indicator")
            .group_by(objects.c.stix_id)
            .order_by(objects.c.stix_id)
        ).all()
    assert [tuple(r) for r in latest] == [tuple(r) for r in newest]
    assert len(latest) == len(ids)

    listed = httpx.get(
        f"{nodes[1]}/api/objects", params={"type": "indicator"}, headers=reader.headers
    ).json()["objects"]
    assert sorted(i["object"]["id"] for i in listed) == sorted(indicator(n)["id"] for n in ids)
    taxii = httpx.get(
        f"{nodes[0]}{OBJECTS}?match[type]=indicator", headers={**reader.headers, "Accept": TAXII}
    ).json()["objects"]
    newest_version = _second(WRITERS * ROUNDS)
    assert sorted((o["id"], o["modified"]) for o in taxii) == sorted(
        (indicator(n)["id"], newest_version) for n in ids
    )
