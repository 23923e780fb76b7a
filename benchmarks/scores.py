"""What sightings and scores cost: bulk ingest with and without the score hook, a full score
refresh, recording one sighting, and `score_of` / the "score ≥ N" filter.

    .venv/bin/python benchmarks/scores.py            # 100k indicators on SQLite and PostgreSQL
    .venv/bin/python benchmarks/scores.py --quick    # 10k on SQLite only
    .venv/bin/python benchmarks/scores.py --size 1000000 --backends sqlite

"without the hook" runs the same ingest on a fresh database with the store's call of
`minga.correlate.stored.after_store` replaced by a no-op (the store as it was before scores),
so the ratio is this run's own.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.ingest import batches, fresh_database
from minga.accounts import service as accounts
from minga.correlate import scores, sightings
from minga.db import make_engine, make_sessionmaker
from minga.intel import service as intel
from minga.intel.models import objects
from minga.intel.stix import now_ts
from minga.migrate import upgrade
from minga.policy import Tlp

console = Console(width=150)


def _ingest(sessions: Any, principal: Any, size: int, seed: str) -> float:
    """objects/s of a bulk ingest of `size` indicators, committed per 1,000."""
    started = time.perf_counter()
    for batch in batches(size, seed):
        items = [orjson.loads(b) for b in batch]
        with sessions() as s:
            intel.create_objects(s, principal, items, tlp=Tlp.GREEN)
            s.commit()
    return size / (time.perf_counter() - started)


def _median_ms(fn: Callable[[], Any], repeat: int = 11) -> float:
    fn()
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    return statistics.median(samples)


def _database(backend: str, workdir: Path) -> tuple[Any, Any, Callable[[], None]]:
    url, cleanup = fresh_database(backend, workdir)
    engine = make_engine(url)
    upgrade(engine)
    sessions = make_sessionmaker(engine)
    with sessions() as s:
        org = accounts.create_organisation(
            s, None, name="Bench CSIRT", country="CR", sector="government", kind="csirt"
        )
        user = accounts.create_user(s, None, org_id=org.id, name="bench", role="analyst")
        principal = accounts.principal_for(s, user)
        s.commit()

    def done() -> None:
        engine.dispose()
        cleanup()

    return sessions, principal, done


def _bare_ingest(backend: str, size: int, workdir: Path) -> float:
    """The same ingest on a fresh database with the score hook replaced by a no-op."""
    import minga.intel.service as store

    sessions, principal, done = _database(backend, workdir)
    real = store.after_store
    store.after_store = lambda *a, **k: None  # the name create_objects calls
    try:
        return _ingest(sessions, principal, size, "bare")
    finally:
        store.after_store = real
        done()


def run(backend: str, size: int, workdir: Path) -> dict[str, Any]:
    bare = _bare_ingest(backend, size, workdir)
    sessions, principal, done = _database(backend, workdir)
    try:
        hooked = _ingest(sessions, principal, size, "hooked")
        with sessions() as s:
            started = time.perf_counter()
            refreshed = scores.refresh(s)
            s.commit()
            refresh_s = time.perf_counter() - started
            some = list(
                s.scalars(
                    select(objects.c.stix_id).where(objects.c.type == "indicator").limit(1000)
                )
            )
        target = some[0]

        def sight() -> None:
            with sessions() as s:
                sightings.record(s, principal, target, count=1)
                s.commit()

        def lookup() -> None:
            with sessions() as s:
                scores.score_of(s, some)

        def filtered() -> None:
            with sessions() as s:
                s.scalar(
                    select(func.count())
                    .select_from(objects)
                    .where(objects.c.type == "indicator", scores.score_at_least(1))
                )

        return {
            "backend": backend,
            "size": size,
            "bare": bare,
            "hooked": hooked,
            "refresh": refreshed / refresh_s,
            "sight_ms": _median_ms(sight),
            "score_of_ms": _median_ms(lookup),
            "filter_ms": _median_ms(filtered, 3),
        }
    finally:
        done()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--quick", action="store_true", help="10k indicators on SQLite only")
    args = parser.parse_args()
    size, backends = (10_000, ["sqlite"]) if args.quick else (args.size, args.backends.split(","))
    table = Table(title=f"Sightings and scores ({now_ts()})")
    for col in (
        "backend", "indicators", "ingest objects/s (no hook)", "ingest objects/s (scores)",
        "ratio", "refresh scores/s", "one sighting ms", "score_of 1k ms", "score ≥ N count ms",
    ):  # fmt: skip
        table.add_column(col, justify="right")
    with tempfile.TemporaryDirectory() as tmp:
        for backend in backends:
            r = run(backend, size, Path(tmp))
            table.add_row(
                r["backend"], f"{r['size']:,}", f"{r['bare']:,.0f}", f"{r['hooked']:,.0f}",
                f"{r['hooked'] / r['bare']:.2f}", f"{r['refresh']:,.0f}", f"{r['sight_ms']:.1f}",
                f"{r['score_of_ms']:.1f}", f"{r['filter_ms']:.1f}",
            )  # fmt: skip
    console.print(table)
    console.print("Load caveat: figures from a shared machine are only comparable within one run.")


if __name__ == "__main__":
    main()
