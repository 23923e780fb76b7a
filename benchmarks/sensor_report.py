"""Benchmark of the sensor's reporting path: matches → sightings aggregated per indicator per
hour in the on-disk outbox (`minga.sensor.report.Reporter` + `minga.sensor.outbox.Outbox`), beside
a naive outbox that queues one sighting per match (the same SQLite file, one transaction).

Run: ``.venv/bin/python benchmarks/sensor_report.py [--records N] [--indicators K]``

Records are conn.log-shaped (Arrow strings, as the Zeek reader yields them) over 24 hours;
1 % of the responders are one of K listed addresses. Both sides get the same matches (from the
real `IndicatorIndex`); figures are matches recorded per second and the objects each outbox
would send to the node. The script fails if the aggregated counts do not add up to the matches.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import tempfile
import time

import numpy as np
import pyarrow as pa

from minga.policy import Tlp
from minga.sensor.indicators import load_objects
from minga.sensor.match import IndicatorIndex
from minga.sensor.outbox import Outbox
from minga.sensor.readers import Batch
from minga.sensor.report import Reporter

START = 1_764_633_600  # 2025-12-02 00:00 UTC


def _batch(records: int, indicators: int, rng: np.random.Generator) -> tuple[Batch, list[dict]]:
    listed = [f"203.0.{i // 256 % 256}.{i % 256}" for i in range(indicators)]
    objs = [
        {"type": "indicator", "id": f"indicator--00000000-0000-4000-8000-{i:012d}",
         "pattern": f"[ipv4-addr:value = '{v}']", "pattern_type": "stix"}
        for i, v in enumerate(listed)
    ]  # fmt: skip
    hits = rng.random(records) < 0.01
    resp = np.where(
        hits,
        np.array(listed, dtype=object)[rng.integers(0, indicators, records)],
        [f"198.51.{a}.{b}" for a, b in rng.integers(0, 256, (records, 2))],
    )
    ts = np.sort(START + rng.random(records) * 86_400)
    table = pa.table(
        {
            "ts": pa.array([f"{t:.6f}" for t in ts], pa.string()),
            "id.orig_h": pa.array([f"10.0.{i % 20}.{i % 250}" for i in range(records)]),
            "id.resp_h": pa.array(resp.tolist(), pa.string()),
        }
    )
    return Batch("conn.log", "conn", table, np.arange(1, records + 1, dtype=np.int64)), objs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--indicators", type=int, default=2_000)
    args = parser.parse_args()
    rng = np.random.default_rng(15)
    batch, objs = _batch(args.records, args.indicators, rng)
    found = list(IndicatorIndex(load_objects(objs)).match(batch))
    print(f"load average {os.getloadavg()[0]:.2f}; {args.records:,} records, "
          f"{len(found):,} matches on {args.indicators:,} listed addresses")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        outbox = Outbox(os.path.join(tmp, "agg"))
        reporter = Reporter(outbox, "http://127.0.0.1:9", "unused", Tlp.AMBER)
        reporter.identity = "identity--00000000-0000-4000-8000-000000000001"
        t0 = time.perf_counter()
        reporter.seen(batch, found)
        reporter.checkpoint()
        aggregated = time.perf_counter() - t0
        objects = len(outbox.pending_sightings(reporter.identity, 10**9))
        (total,) = outbox.db.execute("SELECT sum(count) FROM sightings").fetchone()
        assert total == len(found), (total, len(found))
        reporter.close()
        outbox.close()

        naive = sqlite3.connect(os.path.join(tmp, "naive.sqlite"), isolation_level=None)
        naive.execute("PRAGMA journal_mode=WAL")
        naive.execute("PRAGMA synchronous=FULL")
        naive.execute("CREATE TABLE sightings (id INTEGER PRIMARY KEY, indicator TEXT, at_us "
                      "INTEGER, count INTEGER, sent INTEGER DEFAULT 0)")  # fmt: skip
        t0 = time.perf_counter()
        ts = batch.table.column("ts").to_pylist()
        naive.execute("BEGIN")
        for m in found:
            naive.execute(
                "INSERT INTO sightings (indicator, at_us, count) VALUES (?, ?, 1)",
                (m.indicator, int(float(ts[m.row]) * 1_000_000)),
            )
        naive.execute("COMMIT")
        per_match = time.perf_counter() - t0
        naive.close()
    print(f"aggregated outbox: {len(found) / aggregated:,.0f} matches/s, "
          f"{objects:,} sightings to send")  # fmt: skip
    print(f"per-match outbox:  {len(found) / per_match:,.0f} matches/s, "
          f"{len(found):,} sightings to send")  # fmt: skip
    print(f"ratio: {per_match / aggregated:.2f}x the speed, "
          f"{len(found) / max(objects, 1):.1f}x fewer objects to send")  # fmt: skip


if __name__ == "__main__":
    main()
