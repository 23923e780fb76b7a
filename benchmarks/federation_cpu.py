"""CPU per object of a federation backfill on each side of one hop, in one process (SQLite).

Two in-process nodes (tests/federation/localnodes.py) are peered; `--objects` versions are
published at the source; then, each phase timed with process CPU time:

- source: every page of the federation collection served to the peer (`GET .../objects/`
  through the source app's TestClient: select, sign the first time, JSON) — a second round
  serves the same pages again (signatures kept, not made);
- receiver: each fetched page stored as the pull stores it (`pull._store_page`: parse is not
  included — the pages are already parsed — then verify, store, record arrival, commit).

    .venv/bin/python benchmarks/federation_cpu.py --objects 10000
    .venv/bin/python benchmarks/federation_cpu.py --objects 10000 --profile recv   # cProfile
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from minga.db import make_engine  # noqa: E402
from minga.federation.collection import collection_url  # noqa: E402
from minga.federation.pull import PAGE, _store_page, get_page  # noqa: E402
from minga.federation.push import token_of  # noqa: E402
from minga.intel import service as intel  # noqa: E402
from minga.migrate import upgrade  # noqa: E402
from minga.policy import Reach, Tlp  # noqa: E402
from tests.federation.localnodes import URL, connect, sqlite_copy, start_node  # noqa: E402


def indicator(n: int) -> dict[str, Any]:
    ts = "2026-12-02T12:00:00.000Z"
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--{uuid.uuid4()}",
        "created": ts,
        "modified": ts,
        "name": f"Benchmark indicator {n}",
        "pattern": f"[ipv4-addr:value = '10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}']",
        "pattern_type": "stix",
        "valid_from": ts,
    }


def template(tmp: Path) -> Path:
    path = tmp / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--objects", type=int, default=10000)
    parser.add_argument("--page", type=int, default=PAGE)
    parser.add_argument("--profile", choices=["serve", "recv"], default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as raw:
        tmp = Path(raw)
        base = template(tmp)
        a = start_node("a", sqlite_copy(base, tmp), "GT")
        b = start_node("b", sqlite_copy(base, tmp), "CR")
        try:
            connect(a, b, "pull", "pull")
            for start in range(0, args.objects, 5000):
                n = min(5000, args.objects - start)
                with a.sessions() as s:
                    items = [indicator(start + i) for i in range(n)]
                    intel.create_objects(s, a.member, items, tlp=Tlp.GREEN, reach=Reach.FEDERATION)
                    s.commit()
            peer_at_b = b.peer("a")
            token, url = token_of(peer_at_b), collection_url(URL)
            pages: list[tuple[list[Any], str | None]] = []
            prof = cProfile.Profile()
            for label in ("first", "again"):
                pages.clear()
                if args.profile == "serve" and label == "again":
                    prof.enable()
                started = time.process_time()
                cursor: str | None = None
                while True:
                    objs, more, last = get_page(a.client, url, token, cursor, args.page)
                    pages.append((objs, last))
                    if not more or last is None:
                        break
                    cursor = last
                cpu = time.process_time() - started
                prof.disable()
                count = sum(len(p) for p, _ in pages)
                print(f"source, {label} serve: {count} objects, {cpu / count * 1e6:.0f} µs/obj")
            raw_bytes = [orjson.dumps({"objects": p}) for p, _ in pages]
            started = time.process_time()
            parsed = [orjson.loads(r)["objects"] for r in raw_bytes]
            parse = time.process_time() - started
            if args.profile == "recv":
                prof.enable()
            started = time.process_time()
            stored = 0
            for objs, last in zip(parsed, [la for _, la in pages], strict=True):
                got = _store_page(b.sessions, b.settings, peer_at_b.id, objs, last)
                assert got is not None and not got.rejected, got
                stored += len(got.stored)
            cpu = time.process_time() - started
            prof.disable()
            print(
                f"receiver: {stored} stored, {cpu / stored * 1e6:.0f} µs/obj"
                f" (+ JSON parse {parse / stored * 1e6:.0f} µs/obj)"
            )
            if args.profile:
                pstats.Stats(prof).sort_stats("cumulative").print_stats(45)
        finally:
            a.close()
            b.close()


if __name__ == "__main__":
    main()
