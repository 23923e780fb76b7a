"""Bulk-create throughput and list-page latency of the object store, SQLite and PostgreSQL.

    .venv/bin/python benchmarks/ingest.py                 # 10k and 100k objects on both backends
    .venv/bin/python benchmarks/ingest.py --sizes 1000000 # the 1M figures (takes minutes)
    .venv/bin/python benchmarks/ingest.py --quick         # 10k on SQLite only
    .venv/bin/python benchmarks/ingest.py --objects 1000000   # bulk create only, 1M on SQLite
    .venv/bin/python benchmarks/ingest.py --objects 100000 --index both  # index cost
    .venv/bin/python benchmarks/ingest.py --objects 100000 --writers 1,2  # concurrent writers

Bulk create = orjson decode + structural check + store + index, in batches of 1,000 as the bulk
API receives them, committed per batch. The peer, run on the same objects in the same process, is
the stix2 library's `parse` (what a store built on it pays before writing anything).
"user/sys µs/obj" is the CPU time of the process per object (os.times: user, kernel),
steadier than the wall rate on a shared machine.
"objects/s at size" is the rate of the last tenth of the load: what a store of that size takes.
Targets: >= 20,000 objects/s on SQLite on one core; a list page (limit 100) <= 50 ms at 1M.
The observable index (`minga.correlate`) is written with every object; `--index both` runs each
load once with it and once without (its writer replaced by a no-op) and prints the ratio.
`--writers 1,2` runs the bulk create in that many processes at once, each sending its share of
the objects in batches of 1,000 (as the workers of `minga serve --workers N` receive concurrent
bulk POSTs): objects/s is the total over all of them, from the start to the last commit.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table
from sqlalchemy import create_engine, text

from minga.accounts import service as accounts
from minga.correlate import store as observable_index
from minga.db import make_engine, make_sessionmaker
from minga.intel import service as intel
from minga.migrate import upgrade
from minga.policy import Principal, Tlp

PG_ADMIN = os.environ.get(
    "MINGA_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
BATCH = 1000
console = Console(width=170)


def batches(n: int, seed: str) -> Iterator[list[bytes]]:
    """`n` indicators as the JSON bytes a client would send, 1,000 at a time."""
    types = ("ipv4-addr:value", "domain-name:value", "url:value", "file:hashes.'SHA-256'")
    batch: list[bytes] = []
    for i in range(n):
        kind = types[i % 4]
        value = {
            0: f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}",
            1: f"host{i}.{seed}.example",
            2: f"http://cdn{i}.{seed}.example/a/{i}.php",
            3: f"{i:064x}",
        }[i % 4]
        day = 1 + i % 28
        obj = {
            "type": "indicator",
            "spec_version": "2.1",
            "id": f"indicator--{uuid.uuid4()}",
            "created": f"2024-02-{day:02d}T10:00:00.000Z",
            "modified": f"2024-02-{day:02d}T10:00:00.000Z",
            "name": f"Indicator {i} of campaign {seed}",
            "description": "Infraestructura de comando y control observada por el CSIRT.",
            "indicator_types": ["malicious-activity"],
            "pattern": f"[{kind} = '{value}']",
            "pattern_type": "stix",
            "valid_from": f"2024-02-{day:02d}T10:00:00Z",
            "labels": ["ransomware"],
        }
        batch.append(orjson.dumps(obj))
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def fresh_database(backend: str, workdir: Path) -> tuple[str, Callable[[], None]]:
    if backend == "sqlite":
        path = workdir / f"bench-{uuid.uuid4().hex[:6]}.db"
        return f"sqlite:///{path}", lambda: [
            p.unlink(missing_ok=True) for p in workdir.glob(path.name + "*")
        ]  # type: ignore[func-returns-value]
    name = f"minga_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return PG_ADMIN.rsplit("/", 1)[0] + f"/{name}", drop


def timed(fn: Callable[[], Any], repeat: int = 15) -> float:
    """Median wall time in ms over `repeat` runs (after one warm-up)."""
    fn()
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    return statistics.median(samples)


def run(
    backend: str, size: int, workdir: Path, *, pages_too: bool = True, index: bool = True
) -> dict[str, Any]:
    url, cleanup = fresh_database(backend, workdir)
    write_index = observable_index.write
    if not index:
        observable_index.write = lambda session, written, values=None: 0  # type: ignore[assignment]
    engine = make_engine(url)
    try:
        upgrade(engine)
        sessions = make_sessionmaker(engine)
        with sessions() as s:
            org = accounts.create_organisation(
                s, None, name="Bench CSIRT", country="CR", sector="government", kind="csirt"
            )
            other = accounts.create_organisation(
                s, None, name="Bench reader", country="GT", sector="finance", kind="private"
            )
            user = accounts.create_user(s, None, org_id=org.id, name="bench", role="analyst")
            reader = accounts.create_user(s, None, org_id=other.id, name="reader", role="reader")
            owner, peer = accounts.principal_for(s, user), accounts.principal_for(s, reader)
            s.commit()
        wall = cpu = user = system = tail_wall = 0.0
        tail_from, done = size - size // 10, 0
        for chunk in batches(size, uuid.uuid4().hex[:6]):
            t0, c0, os0 = time.perf_counter(), time.process_time(), os.times()
            items = [orjson.loads(b) for b in chunk]
            with sessions() as s:
                intel.create_objects(s, owner, items, tlp=Tlp.GREEN)
                s.commit()
            wall += time.perf_counter() - t0
            cpu += time.process_time() - c0
            os1 = os.times()
            user += os1.user - os0.user
            system += os1.system - os0.system
            done += len(chunk)
            if done > tail_from:
                tail_wall += time.perf_counter() - t0
        if backend == "postgresql":
            # What autovacuum does on a normal server after a bulk load (PostgreSQL >= 13 also
            # vacuums insert-only tables); it is off on some CI machines. With ANALYZE alone the
            # type filter took ~77 ms at 100k objects instead of ~2 ms (measured 2026-12-02).
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                c.execute(text("VACUUM ANALYZE"))
        figures: dict[str, Any] = {"backend": backend, "size": size}
        figures["objects/s"] = size / wall
        figures["objects/s (cpu)"] = size / cpu
        figures["objects/s at size"] = (size - tail_from) / tail_wall
        figures["user µs/obj"] = user / size * 1e6
        figures["sys µs/obj"] = system / size * 1e6
        if pages_too:
            figures.update(pages(sessions, owner, peer))
        return figures
    finally:
        observable_index.write = write_index  # type: ignore[assignment]
        engine.dispose()
        cleanup()


def _writer(url: str, user_id: int, share: int, seed: str, go: Any, out: Any) -> None:
    """One writer process of `run_writers`: its batches made first, then loaded on `go`."""
    from minga.accounts.models import User

    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    with sessions() as s:
        owner = accounts.principal_for(s, s.get(User, user_id))
    chunks = list(batches(share, seed))
    out.put("ready")
    go.wait()
    c0 = os.times()
    for chunk in chunks:
        items = [orjson.loads(b) for b in chunk]
        with sessions() as s:
            intel.create_objects(s, owner, items, tlp=Tlp.GREEN)
            s.commit()
    c1 = os.times()
    engine.dispose()
    out.put((c1.user - c0.user, c1.system - c0.system))


def run_writers(backend: str, size: int, workdir: Path, writers: int) -> dict[str, Any]:
    """Bulk create of `size` objects by `writers` processes at once on one database."""
    import multiprocessing

    url, cleanup = fresh_database(backend, workdir)
    engine = make_engine(url)
    try:
        upgrade(engine)
        with make_sessionmaker(engine)() as s:
            org = accounts.create_organisation(
                s, None, name="Bench CSIRT", country="CR", sector="government", kind="csirt"
            )
            user = accounts.create_user(s, None, org_id=org.id, name="bench", role="analyst")
            s.commit()
            user_id = user.id
        engine.dispose()
        ctx = multiprocessing.get_context("spawn")
        go, out = ctx.Event(), ctx.Queue()
        share = size // writers
        procs = [
            ctx.Process(
                target=_writer, args=(url, user_id, share, f"w{i}{uuid.uuid4().hex[:4]}", go, out)
            )
            for i in range(writers)
        ]
        for p in procs:
            p.start()
        for _ in procs:
            assert out.get(timeout=300) == "ready"
        t0 = time.perf_counter()
        go.set()
        cpu = [out.get(timeout=3600) for _ in procs]
        wall = time.perf_counter() - t0
        for p in procs:
            p.join()
        total = share * writers
        return {
            "backend": backend,
            "size": total,
            "writers": writers,
            "objects/s": total / wall,
            "user µs/obj": sum(c[0] for c in cpu) / total * 1e6,
            "sys µs/obj": sum(c[1] for c in cpu) / total * 1e6,
        }
    finally:
        engine.dispose()
        cleanup()


def pages(sessions: Any, owner: Principal, peer: Principal) -> dict[str, float]:
    out: dict[str, float] = {}
    with sessions() as s:
        first = intel.list_objects(s, peer, intel.ObjectQuery(), limit=100)
        assert len(first.items) == 100 and first.next_cursor
        cursor = first.next_cursor
        for _ in range(50):  # fifty pages deep
            cursor = intel.list_objects(
                s, peer, intel.ObjectQuery(), limit=100, cursor=cursor
            ).next_cursor
        deep = cursor
        out["page 1 ms"] = timed(
            lambda: intel.list_objects(s, peer, intel.ObjectQuery(), limit=100)
        )
        out["page 51 ms"] = timed(
            lambda: intel.list_objects(s, peer, intel.ObjectQuery(), limit=100, cursor=deep)
        )
        q_type = intel.ObjectQuery(types=["indicator"], newest_first=False)
        out["type filter ms"] = timed(lambda: intel.list_objects(s, owner, q_type, limit=100))
        q_text = intel.ObjectQuery(text="campaign")
        out["text search ms"] = timed(lambda: intel.list_objects(s, peer, q_text, limit=100))
    return out


def stix2_parse_rate(n: int = 3000) -> float:
    import stix2

    chunk = next(batches(n, "peer")) if n <= BATCH else [b for c in batches(n, "peer") for b in c]
    t0 = time.perf_counter()
    for raw in chunk:
        stix2.parse(raw.decode(), allow_custom=True)
    return len(chunk) / (time.perf_counter() - t0)


def pg_reachable() -> bool:
    try:
        eng = create_engine(PG_ADMIN, connect_args={"connect_timeout": 3})
        with eng.connect():
            pass
        eng.dispose()
        return True
    except Exception:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated object counts")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--quick", action="store_true", help="10k objects on SQLite only")
    parser.add_argument(
        "--objects", type=int, default=0, help="bulk create only: this many on SQLite (--backends)"
    )
    parser.add_argument(
        "--index", choices=("on", "off", "both"), default="on", help="the observable index"
    )
    parser.add_argument(
        "--writers", default="", help="comma-separated counts of concurrent writer processes"
    )
    args = parser.parse_args()
    if args.writers:
        writers_only(args)
        return
    sizes = [10_000] if args.quick else [int(x) for x in args.sizes.split(",")]
    backends = ["sqlite"] if args.quick else args.backends.split(",")
    if args.objects:
        sizes = [args.objects]
        backends = ["sqlite"] if args.backends == parser.get_default("backends") else backends
    if "postgresql" in backends and not pg_reachable():
        console.print("[yellow]PostgreSQL not reachable; skipping it[/]")
        backends.remove("postgresql")
    peer = stix2_parse_rate()
    table = Table(title="Minga object store: bulk create and list pages")
    columns = ["backend", "index", "size", "objects/s", "objects/s (cpu)", "user µs/obj",
               "sys µs/obj", "objects/s at size", "x stix2.parse", "page 1 ms", "page 51 ms",
               "type filter ms", "text search ms"]  # fmt: skip
    if args.objects:
        columns = columns[:9]
    modes = {"on": [True], "off": [False], "both": [True, False]}[args.index]
    rates: dict[tuple[str, int, bool], float] = {}
    for col in columns:
        table.add_column(col, justify="right")
    with tempfile.TemporaryDirectory() as tmp:
        for backend in backends:
            for size, index in ((z, i) for z in sizes for i in modes):
                console.print(f"{backend}: {size:,} objects, index {'on' if index else 'off'} ...")
                f = run(backend, size, Path(tmp), pages_too=not args.objects, index=index)
                f["index"] = "on" if index else "off"
                rates[(backend, size, index)] = f["objects/s"]
                f["x stix2.parse"] = f["objects/s"] / peer
                table.add_row(
                    *(
                        f"{f[c]:,.0f}" if c in ("size", "objects/s", "objects/s (cpu)",
                                                "objects/s at size")
                        else f"{f[c]:.1f}" if isinstance(f[c], float) else str(f[c])
                        for c in columns
                    )
                )  # fmt: skip
    console.print(table)
    for (backend, size, index), rate in rates.items():
        if index and (backend, size, False) in rates:
            ratio = rate / rates[(backend, size, False)]
            console.print(f"{backend} {size:,}: index on / off = {ratio:.2f} of the rate")
    console.print(f"peer: stix2.parse alone = {peer:,.0f} objects/s (no storage)")
    console.print("targets: >= 20,000 objects/s on SQLite; page (limit 100) <= 50 ms at 1M objects")


def writers_only(args: argparse.Namespace) -> None:
    size = args.objects or 100_000
    backends = ["sqlite"] if args.backends == "sqlite,postgresql" else args.backends.split(",")
    table = Table(title=f"Minga object store: bulk create of {size:,} objects by N processes")
    for col in ("backend", "writers", "objects/s", "user µs/obj", "sys µs/obj"):
        table.add_column(col, justify="right")
    with tempfile.TemporaryDirectory() as tmp:
        for backend in backends:
            for n in (int(x) for x in args.writers.split(",")):
                console.print(f"{backend}: {size:,} objects by {n} writer processes ...")
                f = run_writers(backend, size, Path(tmp), n)
                table.add_row(
                    backend, str(n), f"{f['objects/s']:,.0f}", f"{f['user µs/obj']:.1f}",
                    f"{f['sys µs/obj']:.1f}",
                )  # fmt: skip
    console.print(table)
    console.print(f"cores: {os.cpu_count()}; target: >= 20,000 objects/s on SQLite")


if __name__ == "__main__":
    main()
