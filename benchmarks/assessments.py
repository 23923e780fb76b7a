"""Situation report and CMM evidence over a growing store (SQLite), and the PDF rendering.

    python benchmarks/assessments.py                 # 100,000 then 1,000,000 objects
    python benchmarks/assessments.py --quick         # 5,000 then 20,000 objects

The store is filled as benchmarks/web.py does (demo community, then generated indicators,
malware and relationships from every organisation, mixed TLP, reach and groups) into a fresh
database. At each size it times, as the hub operator and as a national CSIRT's analyst (the
policy filter differs): `sitrep.collect` (30 and 365 days), `evidence.for_country`, and the
rendering of the report's HTML and PDF; each the median of --repeat runs after a warm-up.
It prints the figures and, for the same run, the ratio of time to the ratio of objects (a
ratio near 1 means the cost grows with the store; well below 1, with the period's window).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.web import fill
from minga.accounts import service as accounts
from minga.assessments import evidence, sitrep
from minga.db import make_engine, make_sessionmaker


def _median(fn: Callable[[], object], repeat: int) -> float:
    fn()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def measure(db_url: str, repeat: int) -> dict[str, float]:
    engine = make_engine(db_url)
    sessions = make_sessionmaker(engine)
    out: dict[str, float] = {}
    with sessions() as s:
        viewers = {
            "operator": sitrep.operator_view(s),
            "csirt": accounts.principal_for(s, accounts.find_user(s, "ana.rojas")),
        }
        for who, p in viewers.items():
            assert p is not None
            out[f"sitrep 30 d ({who})"] = _median(lambda p=p: sitrep.collect(s, p), repeat)
            out[f"sitrep 365 d ({who})"] = _median(
                lambda p=p: sitrep.collect(s, p, period_days=365), repeat
            )
            out[f"evidence CR ({who})"] = _median(
                lambda p=p: evidence.for_country(s, p, "CR"), repeat
            )
        data = sitrep.collect(s, viewers["operator"])  # type: ignore[arg-type]
        out["report HTML"] = _median(lambda: sitrep.render_document(data, "es", "b"), repeat)
        out["report PDF"] = _median(lambda: sitrep.render_pdf(data, "es", "b"), max(1, repeat // 2))
    engine.dispose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="5,000 then 20,000 objects")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    sizes = (5_000, 20_000) if args.quick else (100_000, 1_000_000)
    db = Path(tempfile.mkdtemp()) / "bench-assessments.db"
    url = f"sqlite:///{db}"
    results = []
    for size in sizes:
        held = fill(url, size)
        print(f"-- {held:,} objects")
        figures = measure(url, args.repeat)
        for name, seconds in figures.items():
            print(f"  {name:<28} {seconds * 1000:9.1f} ms")
        results.append((held, figures))
    (n1, f1), (n2, f2) = results
    print(f"-- ratios at {n2 / n1:.1f}x the objects (time ratio / object ratio)")
    for name in f1:
        ratio = f2[name] / f1[name] if f1[name] else float("nan")
        print(f"  {name:<28} {ratio:6.2f}x  ({ratio / (n2 / n1):.2f})")


if __name__ == "__main__":
    main()
