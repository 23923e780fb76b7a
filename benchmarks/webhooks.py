"""Webhook deliveries per second to local receivers, through the whole path: object events
queued by the consumer (`notify.webhooks`, visibility per webhook owner) and POSTed, signed,
by the sender (`minga.events.webhook_queue.send_due`), on SQLite and PostgreSQL.

    .venv/bin/python benchmarks/webhooks.py                         # 2,000 objects, 4 webhooks
    .venv/bin/python benchmarks/webhooks.py --objects 500 --backends sqlite

Beside it, the same signed bodies POSTed one after another on one keep-alive connection,
without the database: the ratio is what the whole path (queue, policy check, parallel
sending, recording each outcome) costs or gains against the bare HTTP round trips.
`measure()` returns the figures, for benchmarks/stream.py to print in its own table.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.ingest import fresh_database, pg_reachable
from minga.accounts import service as accounts
from minga.db import make_engine, make_sessionmaker
from minga.events import cursors, webhook_queue, webhooks
from minga.events.notify_models import webhook_deliveries
from minga.intel import service as intel
from minga.migrate import upgrade
from minga.policy import Tlp
from minga.settings import Settings


class _Counter:
    def __init__(self) -> None:
        self.count = 0
        self.lock = threading.Lock()


@contextmanager
def receiver() -> Iterator[tuple[str, _Counter]]:
    counter = _Counter()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a real receiver would

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with counter.lock:
                counter.count += 1
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", counter
    finally:
        server.shutdown()
        server.server_close()


def _indicator(n: int) -> dict[str, Any]:
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--{uuid.UUID(int=n + 1, version=4)}",
        "created": "2026-01-01T00:00:00.000Z",
        "modified": "2026-01-01T00:00:00.000Z",
        "pattern": f"[ipv4-addr:value = '10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}']",
        "pattern_type": "stix",
        "valid_from": "2026-01-01T00:00:00.000Z",
    }


def measure(backend: str = "sqlite", objects: int = 2000, hooks: int = 4) -> dict[str, Any]:
    """Deliveries/s of the queue + sender, and of bare sequential POSTs (the peer)."""
    workdir = Path(tempfile.mkdtemp(prefix="minga-bench-webhooks-"))
    url, cleanup = fresh_database(backend, workdir)
    engine = make_engine(url)
    try:
        upgrade(engine)
        sessions = make_sessionmaker(engine)
        settings = Settings(database_url=url, webhook_retry_seconds=0)
        with sessions() as s:
            org = accounts.create_organisation(
                s, None, name="Bench CSIRT", country="CR", sector="government", kind="csirt"
            )
            user = accounts.create_user(s, None, org_id=org.id, name="bench-admin", role="admin")
            principal = accounts.principal_for(s, user)
            s.commit()
        with receiver() as (hook_url, counter):
            with sessions() as s:
                for _ in range(hooks):
                    webhooks.create(s, principal, url=hook_url)
                s.commit()
            cursors.drain(sessions, webhook_queue.CONSUMER, lambda s, b: None)  # start here
            with sessions() as s:
                for start in range(0, objects, 500):
                    batch = [_indicator(n) for n in range(start, min(objects, start + 500))]
                    intel.create_objects(s, principal, batch, tlp=Tlp.GREEN)
                s.commit()
            started = time.perf_counter()
            cursors.drain(sessions, webhook_queue.CONSUMER, webhook_queue.queue)
            queued = time.perf_counter() - started
            total = objects * hooks
            while webhook_queue.send_due(sessions, settings, limit=1000):
                pass
            elapsed = time.perf_counter() - started
            delivered = counter.count
            with sessions() as s:
                bodies = [r.payload.encode() for r in s.execute(
                    select(webhook_deliveries.c.payload).limit(min(300, total))
                )]  # fmt: skip
            counter.count = 0
            started = time.perf_counter()
            with httpx.Client() as client:
                for body in bodies:
                    stamp = int(time.time())
                    headers = {webhooks.SIGNATURE_HEADER: webhooks.sign("k", stamp, body)}
                    client.post(hook_url, content=body, headers=headers)
            naive = len(bodies) / (time.perf_counter() - started)
        return {
            "backend": backend,
            "deliveries": total,
            "delivered": delivered,
            "queue_seconds": queued,
            "deliveries_per_s": delivered / elapsed,
            "naive_per_s": naive,
        }
    finally:
        engine.dispose()
        cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--objects", type=int, default=2000)
    parser.add_argument("--hooks", type=int, default=4)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    print(f"Load average before the run: {os.getloadavg()[0]:.1f} ({os.cpu_count()} CPUs)")
    for backend in args.backends.split(","):
        if backend == "postgresql" and not pg_reachable():
            print("PostgreSQL is not reachable: skipped")
            continue
        found = measure(backend, args.objects, args.hooks)
        ratio = found["deliveries_per_s"] / found["naive_per_s"]
        print(
            f"{backend}: {found['delivered']:,}/{found['deliveries']:,} delivered,"
            f" {found['deliveries_per_s']:,.0f} deliveries/s (queueing took"
            f" {found['queue_seconds']:.2f} s); bare sequential POSTs:"
            f" {found['naive_per_s']:,.0f}/s; ratio {ratio:.1f}x"
        )
    print(f"Load average after the run: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
