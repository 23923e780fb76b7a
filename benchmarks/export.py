"""Feed export throughput and peak memory at up to 1M indicators, SQLite (and PostgreSQL).

    .venv/bin/python benchmarks/export.py                  # 1M indicators on SQLite
    .venv/bin/python benchmarks/export.py --pg             # and on PostgreSQL
    .venv/bin/python benchmarks/export.py --quick          # 20k indicators, a few formats

The store is filled through the bulk path (observable index written with every object), by
one organisation; another organisation's analyst exports, so every row passes the policy's
SQL filter. Each export runs in a child process that writes to /dev/null and reports its own
peak RSS (ru_maxrss). Constant memory shows as the ratio of peak RSS at the full size to the
peak RSS at a tenth of it, measured in the same run (1.0 = independent of size). The floor
is a plain read of the same rows (`SELECT raw` of every visible indicator, nothing written):
"x floor" says what producing the format costs on top of reading. MISP publishes no export
throughput figures to print beside these.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from benchmarks.ingest import fresh_database
from minga.accounts import service as accounts
from minga.correlate.export import FORMATS, render
from minga.correlate.feeds import FeedFilter, export_meta, stream_rows
from minga.db import make_engine, make_sessionmaker
from minga.intel import service as intel
from minga.intel.models import objects
from minga.migrate import upgrade
from minga.policy import Tlp

console = Console(width=150)
ALL = list(FORMATS)
QUICK = ["txt", "csv", "stix", "suricata", "nft"]


def batches(n: int, size: int = 1000) -> Any:
    """`n` indicators of one value each, of the four common kinds, none on a warninglist."""
    batch: list[dict[str, Any]] = []
    for i in range(n):
        value = (
            f"ipv4-addr:value = '45.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}'",
            f"domain-name:value = 'host{i}.feed-bench.net'",
            f"url:value = 'http://cdn{i}.feed-bench.net/a/{i}.php'",
            f"file:hashes.'SHA-256' = '{i:064x}'",
        )[i % 4]
        day = 1 + i % 28
        batch.append(
            {
                "type": "indicator",
                "spec_version": "2.1",
                "id": f"indicator--{uuid.UUID(int=i + 1, version=4)}",
                "created": f"2026-02-{day:02d}T10:00:00.000Z",
                "modified": f"2026-02-{day:02d}T10:00:00.000Z",
                "name": f"Indicator {i}",
                "pattern": f"[{value}]",
                "pattern_type": "stix",
                "valid_from": f"2026-02-{day:02d}T10:00:00Z",
                "confidence": 70,
            }
        )
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def load(url: str, n: int) -> None:
    engine = make_engine(url)
    upgrade(engine)
    sessions = make_sessionmaker(engine)
    with sessions() as s:
        pub = accounts.create_organisation(
            s, None, name="CSIRT-GT", country="GT", sector="government", kind="csirt"
        )
        reader = accounts.create_organisation(
            s, None, name="Bank-HN", country="HN", sector="finance", kind="private"
        )
        owner = accounts.create_user(s, None, org_id=pub.id, name="gt-bot", role="machine")
        accounts.create_user(s, None, org_id=reader.id, name="hn-analyst", role="analyst")
        principal = accounts.principal_for(s, owner)
        s.commit()
    started = time.perf_counter()
    for batch in batches(n):
        with sessions() as s:
            intel.create_objects(s, principal, batch, tlp=Tlp.GREEN)
            s.commit()
    console.print(f"  loaded {n:,} indicators in {time.perf_counter() - started:.0f} s")
    engine.dispose()


def child(url: str, fmt: str, limit: int) -> dict[str, Any]:
    """One export in this process: rows, bytes, seconds and this process's peak RSS."""
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    rows = size = 0
    with sessions() as s, open(os.devnull, "wb") as sink:
        principal = accounts.principal_for(s, accounts.find_user(s, "hn-analyst"))
        started = time.perf_counter()
        if fmt == "floor":
            stmt = select(objects.c.raw).where(objects.c.type == "indicator", objects.c.is_latest)
            for (raw,) in s.execute(stmt.limit(limit)).yield_per(2000):
                rows += 1
                size += len(raw)
                sink.write(raw.encode())
        else:
            f = FeedFilter()

            def counted() -> Any:
                nonlocal rows
                for row in stream_rows(s, principal, f):
                    rows += 1
                    if rows > limit:
                        return
                    yield row

            meta = export_meta(s, principal, f, "bench")
            for text in render(FORMATS[fmt], counted(), meta):
                data = text.encode()
                size += len(data)
                sink.write(data)
        seconds = time.perf_counter() - started
    engine.dispose()
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"rows": min(rows, limit), "bytes": size, "seconds": seconds, "rss_mb": rss_kb / 1024}


def measure(url: str, fmt: str, limit: int) -> dict[str, Any]:
    here = Path(__file__).resolve().parent.parent
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.export", "--child", url, fmt, str(limit)],
        capture_output=True,
        text=True,
        cwd=here,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def run(backend: str, n: int, formats: list[str]) -> None:
    with tempfile.TemporaryDirectory() as workdir:
        url, drop = fresh_database(backend, Path(workdir))
        try:
            console.print(f"[bold]{backend}[/]: {n:,} indicators")
            load(url, n)
            table = Table(
                "format",
                "rows/s",
                "MB/s",
                "seconds",
                f"peak RSS MB at {n:,}",
                f"at {n // 10:,}",
                "RSS ratio",
                "x floor",
                title=f"Export, {backend}, {n:,} indicators (one value each)",
            )
            floor = measure(url, "floor", n)
            for fmt in ["floor", *formats]:
                full = floor if fmt == "floor" else measure(url, fmt, n)
                tenth = measure(url, fmt, n // 10)
                rate = full["rows"] / full["seconds"] if full["seconds"] else 0
                table.add_row(
                    fmt,
                    f"{rate:,.0f}",
                    f"{full['bytes'] / full['seconds'] / 2**20:,.1f}",
                    f"{full['seconds']:.1f}",
                    f"{full['rss_mb']:.0f}",
                    f"{tenth['rss_mb']:.0f}",
                    f"{full['rss_mb'] / tenth['rss_mb']:.2f}",
                    f"{full['seconds'] / floor['seconds']:.1f}",
                )
            console.print(table)
        finally:
            drop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--indicators", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="20k indicators, five formats")
    parser.add_argument("--pg", action="store_true", help="also on PostgreSQL")
    parser.add_argument("--formats", default="", help="comma-separated (default: all)")
    parser.add_argument(
        "--child", nargs=3, metavar=("URL", "FORMAT", "LIMIT"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.child:
        url, fmt, limit = args.child
        print(json.dumps(child(url, fmt, int(limit))))
        return
    n = 20_000 if args.quick else args.indicators
    formats = args.formats.split(",") if args.formats else (QUICK if args.quick else ALL)
    run("sqlite", n, formats)
    if args.pg:
        run("postgresql", n, formats)


if __name__ == "__main__":
    main()
