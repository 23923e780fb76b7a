"""One federation hop between two `minga serve` processes (SQLite each), as sync does it:

- push latency: publish one object at a time at node a (REST), time until it is stored at b
  (a pushes to b; b's database polled every 2 ms); p50/p99 over --push objects;
- pull throughput: --pull objects committed at a in one bulk write, b pulls them (its pull
  loop runs every second): objects/s from the commit at a to the last one stored at b.

    .venv/bin/python benchmarks/federation_hop.py                 # 200 pushed, 20,000 pulled
    .venv/bin/python benchmarks/federation_hop.py --push 50 --pull 5000
"""

from __future__ import annotations

import argparse
import shutil
import statistics
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
from minga.migrate import upgrade  # noqa: E402
from tests.federation.served import ServedNode, join  # noqa: E402


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


def stored_at(node: ServedNode) -> Any:
    """A cheap 'is this id stored?' against the node's database."""
    engine = make_engine(node.database_url)
    conn = engine.raw_connection()

    def has(stix_id: str) -> bool:
        cur = conn.cursor()
        cur.execute("SELECT 1 FROM stix_objects WHERE stix_id = ? LIMIT 1", (stix_id,))
        return cur.fetchone() is not None

    def count() -> int:
        cur = conn.cursor()
        cur.execute("SELECT count(*) FROM stix_objects WHERE origin_node IS NOT NULL")
        return int(cur.fetchone()[0])

    return has, count


def pair(tmp: Path, base: Path, name: str, a_to_b: str, b_to_a: str) -> tuple[ServedNode, ...]:
    nodes = []
    for n in ("a", "b"):
        shutil.copy(base, tmp / f"{name}-{n}.db")
        node = ServedNode(n, f"sqlite:///{tmp / f'{name}-{n}.db'}", tmp / f"{name}-{n}.log")
        node.init("GT" if n == "a" else "CR")
        node.env["MINGA_FEDERATION_PULL_SECONDS"] = "1"
        nodes.append(node)
    join(nodes[0], nodes[1], a_to_b=a_to_b, b_to_a=b_to_a)
    return tuple(nodes)


def push_latency(tmp: Path, base: Path, count: int) -> list[float]:
    a, b = pair(tmp, base, "push", "push", "pull")
    b.env["MINGA_FEDERATION_PULL_SECONDS"] = "3600"  # only the push moves versions
    try:
        a.start()
        b.start()
        has, _ = stored_at(b)
        warm = indicator(0)
        a.api("POST", "/api/objects?tlp=green&reach=federation", json=warm)
        while not has(warm["id"]):
            time.sleep(0.01)
        latencies = []
        for n in range(1, count + 1):
            obj = indicator(n)
            r = a.api("POST", "/api/objects?tlp=green&reach=federation", json=obj)
            assert r.status_code == 201, r.text
            start = time.perf_counter()
            while not has(obj["id"]):
                time.sleep(0.002)
            latencies.append(time.perf_counter() - start)
        return latencies
    finally:
        a.stop()
        b.stop()


def pull_rate(tmp: Path, base: Path, count: int) -> tuple[float, float]:
    a, b = pair(tmp, base, "pull", "pull", "pull")
    try:
        a.start()
        b.start()
        _, count_b = stored_at(b)
        start_b = count_b()
        bodies = [indicator(n) for n in range(count)]
        t0 = time.perf_counter()
        for i in range(0, count, 10000):
            r = a.api(
                "POST",
                "/api/objects/bulk?tlp=green&reach=federation",
                content=orjson.dumps(bodies[i : i + 10000]),
                headers={"Content-Type": "application/json"},
            )
            assert r.status_code in (200, 201), r.text[:300]
        committed = time.perf_counter()
        while count_b() - start_b < count:
            time.sleep(0.05)
        done = time.perf_counter()
        return done - committed, committed - t0
    finally:
        a.stop()
        b.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--push", type=int, default=200, help="objects published one by one")
    parser.add_argument("--pull", type=int, default=20000, help="objects backfilled by pull")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as raw:
        tmp = Path(raw)
        base = template(tmp)
        lat = sorted(push_latency(tmp, base, args.push))
        p50 = statistics.median(lat)
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
        print(
            f"push, one hop, {len(lat)} objects one by one: p50 {p50 * 1000:.0f} ms, "
            f"p99 {p99 * 1000:.0f} ms, max {lat[-1] * 1000:.0f} ms"
        )
        seconds, load = pull_rate(tmp, base, args.pull)
        print(
            f"pull, one hop, {args.pull} objects: {seconds:.1f} s after the commit at a "
            f"(≤ 1 s of it waiting for b's next pull round) = {args.pull / seconds:,.0f} objects/s"
            f"  [publishing them at a took {load:.1f} s]"
        )


if __name__ == "__main__":
    main()
