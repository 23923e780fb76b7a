"""Crash consistency: `minga serve` killed with SIGKILL under write load, then restarted.

Writers POST bulk batches and record what the node acknowledged (2xx). After every kill and
restart, each acknowledged object is stored exactly once and byte-for-byte as sent; a batch whose
answer never came is stored whole or not at all (a batch is one transaction); SQLite passes its
integrity check. Two kills per backend, a moment of load each, then a last restart that reads
and writes.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from minga.intel.models import objects
from minga.intel.stix import TLP2_MARKING_ID
from minga.policy import Tlp
from tests.conftest import Member, add_member

# Kills per backend: each restart costs a server start, so the suite stays at 2; longer runs:
# MINGA_CRASH_ROUNDS=20 pytest -s tests/intel/test_crash.py
ROUNDS = int(os.environ.get("MINGA_CRASH_ROUNDS", "2"))
BATCH = 25
WRITERS = 2
ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(db_url: str, log: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """`minga serve` as a real process on a free loopback port, until it answers."""
    port = _free_port()
    env = {
        **os.environ,
        "MINGA_DATABASE_URL": db_url,
        "MINGA_INGEST_WORKER_SECONDS": "0",
        "MINGA_TAXII_PULL_CHECK_SECONDS": "0",
        "MINGA_LOG_LEVEL": "warning",
        "PYTHONPATH": str(ROOT),
    }
    command = "from minga.cli import main; main()"
    with log.open("ab") as out:
        server = subprocess.Popen(
            [sys.executable, "-c", command, "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env, cwd=ROOT, stdout=out, stderr=out,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180  # several workers start slowly on a busy machine
        while True:
            if server.poll() is not None:
                raise AssertionError(f"minga serve ended: {log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{url}/api/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("minga serve did not answer within 180 s")
            time.sleep(0.05)
        yield server, url
    finally:
        server.kill()
        server.wait()


@dataclass
class Ledger:
    """What the writers sent: acknowledged objects, and batches whose answer never came."""

    acked: dict[str, bytes] = field(default_factory=dict)  # id -> raw JSON sent
    unknown: list[list[tuple[str, bytes]]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # answers no write may get
    lock: threading.Lock = field(default_factory=threading.Lock)


def _batch(member: Member) -> list[dict[str, Any]]:
    """Complete objects (creator and marking given), so the node stores them unchanged; each
    names a value of its own (a value published again would link to the first indicator)."""
    ts = "2024-05-02T12:00:00.000Z"
    batch = uuid.uuid4().hex[:12]
    return [
        {
            "type": "indicator", "spec_version": "2.1", "id": f"indicator--{uuid.uuid4()}",
            "created_by_ref": member.principal.identity_ref, "created": ts, "modified": ts,
            "name": f"crash test {n}", "pattern": f"[domain-name:value = 'n{n}.b{batch}.net']",
            "pattern_type": "stix", "valid_from": ts,
            "object_marking_refs": [TLP2_MARKING_ID[Tlp.GREEN]],
        }
        for n in range(BATCH)
    ]  # fmt: skip


def _write(url: str, member: Member, ledger: Ledger, stop: threading.Event) -> None:
    with httpx.Client(headers=member.headers, timeout=10) as client:
        while not stop.is_set():
            sent = [(o["id"], orjson.dumps(o)) for o in _batch(member)]
            body = b'{"objects":[' + b",".join(raw for _, raw in sent) + b"]}"
            try:
                r = client.post(
                    f"{url}/api/objects/bulk",
                    content=body,
                    headers={"Content-Type": "application/json"},
                )
            except httpx.HTTPError:  # the node died while this batch was in flight
                with ledger.lock:
                    ledger.unknown.append(sent)
                return
            with ledger.lock:
                if 200 <= r.status_code < 300:
                    ledger.acked.update(sent)
                elif r.status_code != 503:  # 503: busy, nothing stored; anything else is wrong
                    ledger.errors.append(f"{r.status_code}: {r.text[:300]}")
                    return


def _check(sessions: sessionmaker[Session], ledger: Ledger, db_url: str) -> None:
    ids = set(ledger.acked) | {i for batch in ledger.unknown for i, _ in batch}
    stored: dict[str, list[str]] = {}
    with sessions() as s:
        for stix_id, raw in s.execute(
            select(objects.c.stix_id, objects.c.raw).where(objects.c.type == "indicator")
        ):
            stored.setdefault(stix_id, []).append(raw)
        if db_url.startswith("sqlite"):
            assert s.connection().exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
    assert set(stored) <= ids  # nothing appeared that nobody sent
    for stix_id, raw in ledger.acked.items():
        assert stored.get(stix_id) == [raw.decode()], f"acknowledged {stix_id} lost or changed"
    for batch in ledger.unknown:  # all or nothing, and intact when there
        present = [stored.get(i) == [raw.decode()] for i, raw in batch]
        assert all(present) or not any(stored.get(i) for i, _ in batch), "half a batch stored"


def test_killed_under_load_nothing_acknowledged_is_lost(
    db_url: str, sessions: sessionmaker[Session], tmp_path: Path
):
    member = add_member(sessions, "Org A")
    ledger = Ledger()
    rnd = random.Random(20240502)
    log = tmp_path / "serve.log"
    for _ in range(ROUNDS):
        with serving(db_url, log) as (server, url):
            stop = threading.Event()
            writers = [
                threading.Thread(target=_write, args=(url, member, ledger, stop))
                for _ in range(WRITERS)
            ]
            before = len(ledger.acked)
            for w in writers:
                w.start()
            deadline = time.monotonic() + 30  # load until writes are acknowledged, then
            while len(ledger.acked) < before + 4 * BATCH and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(rnd.uniform(0.0, 0.5))  # a kill at an arbitrary moment of the load
            os.kill(server.pid, signal.SIGKILL)
            server.wait()
            stop.set()
            for w in writers:
                w.join(timeout=30)
        assert not ledger.errors, ledger.errors
        _check(sessions, ledger, db_url)
    assert len(ledger.acked) >= BATCH, "no write was acknowledged: the load never ran"
    with serving(db_url, log) as (_, url):  # the node serves and writes after the last kill
        sent = _batch(member)[:1]
        r = httpx.post(f"{url}/api/objects", json=sent[0], headers=member.headers, timeout=10)
        assert r.status_code == 201, r.text
        some = rnd.sample(sorted(ledger.acked), 5)
        for stix_id in some:
            got = httpx.get(f"{url}/api/objects/{stix_id}", headers=member.headers, timeout=10)
            assert got.json()["object"] == orjson.loads(ledger.acked[stix_id])
    print(f"\n{db_url.split(':')[0]}: {ROUNDS} kills, {len(ledger.acked)} acknowledged objects, "
          f"{len(ledger.unknown)} batches in flight at a kill")  # fmt: skip
