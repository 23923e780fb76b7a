"""A node under load: `minga serve` against medallion, with wrk (or an asyncio httpx client).

For each backend and size: a fresh database is loaded through the bulk service (not HTTP),
`minga serve` starts on a free loopback port (with `--workers N` when given and the command
takes it), and every scenario runs at each client count: TAXII first page and a page 50 pages
deep, REST list, REST and TAXII get-by-id (a random stored id per request), a text search for
a term one object holds, and POSTs of 100 new indicators (TAXII envelopes). Reads are made by
a member organisation that does not own the objects, so the policy filter is on every query.
medallion (memory backend, `bench` extra) with 10k of the same indicators runs the TAXII
scenarios beside it, in the same run.

    .venv/bin/python benchmarks/serve.py --quick       # 10k on SQLite, 8 and 32 clients, 3 s
    .venv/bin/python benchmarks/serve.py               # 100k and 1M, both backends, 1/8/32
    .venv/bin/python benchmarks/serve.py --sizes 1000000 --backends sqlite --workers 2

Targets on a 2-core machine (issue 11): >= 1,500 requests/s for TAXII pages and get-by-id at
32 clients with p99 <= 100 ms; POST p99 <= 500 ms.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.ingest import fresh_database, pg_reachable  # noqa: E402
from benchmarks.load import TAXII, Figures, Scenario, measure, wrk_available  # noqa: E402
from benchmarks.taxii import (  # noqa: E402
    MEDALLION_COLLECTION,
    Server,
    free_port,
    indicator,
    start_medallion,
)
from minga.accounts import service as accounts  # noqa: E402
from minga.db import make_engine, make_sessionmaker  # noqa: E402
from minga.intel import search  # noqa: E402
from minga.intel.service import create_objects  # noqa: E402
from minga.migrate import upgrade  # noqa: E402
from minga.taxii.models import DEFAULT_COLLECTION_ID  # noqa: E402

LOAD_BATCH = 5000
NEEDLE_AT = 777  # the one stored object whose description holds the rare search term
DEEP = 50  # pages before the deep page
# `minga` through its entry point, as the tests start it: the workers are spawned, and spawning
# re-imports the main module, which a console script without a __main__ guard would run again.
ENTRY = "import sys; from minga.cli import main; sys.argv[0] = 'minga'; main()"
MINGA = [sys.executable, "-c", ENTRY]
PAGES = ("taxii first page", "taxii deep page")
BY_ID = ("taxii get-by-id", "rest get-by-id")
# What issue 11 measured before (wrk, 100k objects, one process), for the same scenarios.
BEFORE = {
    "taxii first page": "216-266/s",
    "rest get-by-id": "290-362/s",
    "post 100 objects": "70-85/s, p99 2.4 s @32",
}


class Node:
    """A temporary database of this node, loaded through the bulk service."""

    def __init__(self, backend: str, workdir: Path, needle: str) -> None:
        self.backend, self.needle, self.log = backend, needle, workdir / f"serve-{backend}.log"
        self.url, self.cleanup = fresh_database(backend, workdir)
        self.engine = make_engine(self.url)
        upgrade(self.engine)
        self.sessions = make_sessionmaker(self.engine)
        with self.sessions() as s:
            owner_org = accounts.create_organisation(
                s, None, name="Bench CSIRT", country="CR", sector="government", kind="csirt"
            )
            reader_org = accounts.create_organisation(
                s, None, name="Bench ISAC", country="GT", sector="finance", kind="private"
            )
            owner = accounts.create_user(s, None, org_id=owner_org.id, name="bench", role="analyst")
            reader = accounts.create_user(s, None, org_id=reader_org.id, name="rd", role="reader")
            self.owner = accounts.principal_for(s, owner)
            self.owner_token = accounts.issue_token(s, None, user_id=owner.id)[1].token
            self.reader_token = accounts.issue_token(s, None, user_id=reader.id)[1].token
            s.commit()
        self.count = 0

    def grow(self, size: int) -> float:
        started = time.perf_counter()
        while self.count < size:
            items = [indicator(n) for n in range(self.count, min(size, self.count + LOAD_BATCH))]
            for obj in items:
                if obj["name"].endswith(f" {NEEDLE_AT}"):
                    obj["description"] = f"Observed once: {self.needle}"
            with self.sessions() as s:
                create_objects(s, self.owner, items)
                s.commit()
            self.count += len(items)
        if self.backend == "sqlite":  # what the node's background indexer would have done
            with self.sessions() as s:
                search.catch_up(s)
                s.commit()
        if self.backend == "postgresql":  # what autovacuum does after a bulk load
            with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                c.exec_driver_sql("VACUUM ANALYZE")
        return time.perf_counter() - started

    def start(self, workers: int | None) -> Server:
        port = free_port()
        env = {
            **os.environ,
            "MINGA_DATABASE_URL": self.url,
            "MINGA_LOG_LEVEL": "warning",
            "MINGA_TAXII_PULL_CHECK_SECONDS": "0",
            "MINGA_INGEST_WORKER_SECONDS": "0",
        }
        cmd = [*MINGA, "serve", "--host", "127.0.0.1", "--port", str(port)]
        if workers:
            cmd += ["--workers", str(workers)]
        base = f"http://127.0.0.1:{port}/taxii2/api/"
        with self.log.open("ab") as log:  # the node's own complaints, shown if it fails
            process = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
        server = Server(
            "minga",
            base,
            f"{base}collections/{DEFAULT_COLLECTION_ID}/objects/",
            None,
            {"Authorization": f"Bearer {self.reader_token}"},
            process,
        )
        server.wait_ready(base, 600)  # imports and workers' start take minutes on a busy machine
        return server

    def close(self) -> None:
        self.engine.dispose()
        self.cleanup()


def origin(url: str) -> str:
    return url.split("/", 3)[0] + "//" + url.split("/", 3)[2]


def path_of(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def deep_pages(size: int) -> int:
    return max(1, min(DEEP, size // 100 - 1))


def deep_cursor(server: Server, size: int) -> str:
    """The `next` of page DEEP (fewer in a small store), walked with limit 100."""
    params: dict[str, str | int] = {"limit": 100}
    with server.client() as c:
        for _ in range(deep_pages(size)):
            body = c.get(server.collection_url, params=params).json()
            params = {"limit": 100, "next": body["next"]}
    return str(params["next"])


def minga_scenarios(node: Node, server: Server, size: int) -> list[Scenario]:
    read = (("Authorization", f"Bearer {node.reader_token}"),)
    taxii = (*read, ("Accept", TAXII))
    rest = (*read, ("Accept", "application/json"))
    objects = path_of(server.collection_url)
    return [
        Scenario("taxii first page", f"{objects}?limit=100", headers=taxii),
        Scenario(
            "taxii deep page",
            f"{objects}?limit=100&next={deep_cursor(server, size)}",
            headers=taxii,
        ),
        Scenario("rest list", "/api/objects?limit=100", headers=rest),
        Scenario("rest get-by-id", "/api/objects/{id}", "id", size, rest),
        Scenario("taxii get-by-id", objects + "{id}/", "id", size, taxii),
        Scenario(
            "text search (rare term)", f"/api/objects?limit=100&q={node.needle}", headers=rest
        ),
        Scenario(
            "post 100 objects",
            objects,
            "post",
            headers=(("Authorization", f"Bearer {node.owner_token}"), ("Accept", TAXII)),
        ),
    ]


def medallion_scenarios(server: Server | None, size: int) -> list[Scenario]:
    auth = base64.b64encode(b"bench:secret").decode()
    taxii = (("Authorization", f"Basic {auth}"), ("Accept", TAXII))
    root = path_of(server.base) if server is not None else "/"
    objects = f"{root}collections/{MEDALLION_COLLECTION}/objects/"
    # medallion's `next` is a server-side list consumed as it is read: a deep page is asked by
    # added_after (its objects were added 1 µs apart from 2024-03-01T12:00:00Z).
    deep = f"2024-03-01T12:00:00.{deep_pages(size) * 100 - 1:06d}Z"
    return [
        Scenario("taxii first page", f"{objects}?limit=100", headers=taxii),
        Scenario("taxii deep page", f"{objects}?limit=100&added_after={deep}", headers=taxii),
        Scenario("taxii get-by-id", objects + "{id}/", "id", size, taxii),
        Scenario("post 100 objects", objects, "post", headers=taxii),
    ]


Results = dict[tuple[str, int], Figures]  # (scenario, clients)
CPU_MS: dict[tuple[str, str, int], float] = {}  # (table label, scenario, clients) -> ms/request
TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def server_cpu_s(pid: int | None) -> float:
    """User + system CPU seconds of the server process and its workers (Linux /proc)."""
    if pid is None or not Path(f"/proc/{pid}").exists():
        return 0.0
    pids = [pid]
    with contextlib.suppress(OSError):
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
    total = 0
    for p in pids:
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICKS


def wanted(args: argparse.Namespace, name: str) -> bool:
    words = [w.strip() for w in args.only.split(",") if w.strip()]
    return not words or any(w in name for w in words)


def run_all(
    label: str, server: Server, scenarios: list[Scenario], args: argparse.Namespace, wrk: bool
) -> Results:
    pid = server.process.pid if server.process is not None else None
    # medallion's memory backend is quadratic in its store (a page of 1k objects took 15 s
    # here, of 3k 89 s): a scenario whose first request does not answer in time is not run.
    warm_timeout = 300.0 if server.name == "minga" else 60.0
    results: Results = {}
    for scenario in scenarios:
        if not wanted(args, scenario.name):
            continue
        for clients in args.clients:
            cpu_before = server_cpu_s(pid)
            figures = measure(
                origin(server.base), scenario, clients, args.duration, pid, wrk, warm_timeout
            )
            cpu_ms = 1000 * (server_cpu_s(pid) - cpu_before) / max(1, figures.requests + 1)
            CPU_MS[(label, scenario.name, clients)] = cpu_ms
            results[(scenario.name, clients)] = figures
            print(
                f"  {label}: {scenario.name} @{clients}: {figures.rate:,.0f}/s, "
                f"p99 {figures.p99_ms:,.1f} ms, {figures.errors} errors, "
                f"server CPU {cpu_ms:.2f} ms/request",
                flush=True,
            )
            if not figures.requests and server.name != "minga":
                for more in args.clients[args.clients.index(clients) + 1 :]:
                    results[(scenario.name, more)] = figures
                break
    return results


def run_medallion(workdir: Path, args: argparse.Namespace, wrk: bool) -> Results:
    """Each scenario on a fresh medallion: requests it never answered within the run would
    otherwise keep it busy through the next one."""
    results: Results = {}
    names = [s.name for s in medallion_scenarios(None, args.medallion_size) if wanted(args, s.name)]
    for name in names:
        med = start_medallion(workdir, args.medallion_size, 100)
        try:
            chosen = [s for s in medallion_scenarios(med, args.medallion_size) if s.name == name]
            results.update(run_all("medallion", med, chosen, args, wrk))
        finally:
            med.stop()
    return results


def verdict(name: str, clients: int, f: Figures) -> str:
    if clients != 32:
        return ""
    if name in PAGES + BY_ID:
        ok = f.rate >= 1500 and f.p99_ms <= 100 and not f.errors and f.requests > 0
        return ("meets" if ok else "below") + " >=1,500/s p99<=100ms"
    if name == "post 100 objects":
        ok = f.p99_ms <= 500 and not f.errors and f.requests > 0
        return ("meets" if ok else "below") + " p99<=500ms"
    return ""


def report(
    title: str, results: Results, peer: Results | None, clients: list[int], minga: bool
) -> None:
    print(f"\n{title}")
    head = (
        f"{'scenario':<24} {'clients':>7} {'req/s':>9} {'p50 ms':>9} {'p99 ms':>9} "
        f"{'errors':>6} {'RSS/worker':>10} {'x medallion':>11}  target (issue 11 before)"
    )
    print(head)
    print("-" * len(head))
    for (name, n), f in results.items():
        ratio = ""
        theirs = peer.get((name, n)) if peer is not None else None
        if theirs is not None and theirs.requests:
            ratio = f"{f.rate / theirs.rate:,.1f}x"
        elif theirs is not None and f.requests:  # medallion answered none within the run
            ratio = f"> {f.rate * theirs.seconds:,.0f}x"
        rss = f"{f.peak_rss_mb:,.0f} MB" if f.peak_rss_mb else "-"
        p50, p99 = (f"{f.p50_ms:,.1f}", f"{f.p99_ms:,.1f}") if f.requests else ("-", "-")
        note = verdict(name, n, f)
        if not f.requests:
            note = f"no answer within {f.seconds:.0f} s; " + note
        if minga and n == clients[-1] and name in BEFORE:
            note += f" ({BEFORE[name]})"
        print(
            f"{name:<24} {n:>7} {f.rate:>9,.{0 if f.rate >= 10 else 1}f} {p50:>9} {p99:>9} "
            f"{f.errors:>6} {rss:>10} {ratio:>11}  {note}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="100000,1000000", help="object counts (ascending)")
    parser.add_argument("--clients", default="1,8,32", help="concurrent connections")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per measurement")
    parser.add_argument("--workers", type=int, default=None, help="minga serve --workers N")
    parser.add_argument("--medallion-size", type=int, default=10_000, help="0: no medallion")
    parser.add_argument("--httpx", action="store_true", help="the httpx client even with wrk")
    parser.add_argument("--only", default="", help="scenarios whose names contain these words")
    parser.add_argument("--quick", action="store_true", help="10k, SQLite, 8 and 32 clients, 3 s")
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.backends, args.clients, args.duration = "10000", "sqlite", "8,32", 3.0
    sizes = sorted(int(s) for s in args.sizes.split(",") if s.strip())
    args.clients = [int(c) for c in args.clients.split(",") if c.strip()]
    backends = [b for b in args.backends.split(",") if b.strip()]
    if "postgresql" in backends and not pg_reachable():
        print("PostgreSQL not reachable; skipping it")
        backends.remove("postgresql")
    wrk = wrk_available() and not args.httpx
    if args.medallion_size and not med_version():
        print("medallion is not installed (pip install -e '.[bench]'): it was not run")
        args.medallion_size = 0
    takes_workers = (
        "--workers"
        in subprocess.run(
            [*MINGA, "serve", "--help"],
            capture_output=True,
            text=True,
            env={**os.environ, "COLUMNS": "200"},
        ).stdout
    )
    if args.workers and not takes_workers:
        print("this `minga serve` has no --workers: one process")
        args.workers = None
    print(
        f"load generator: {'wrk' if wrk else 'asyncio httpx'}; {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.1f} at the start; "
        f"minga serve --workers {'supported' if takes_workers else 'not supported'}"
    )

    tables: list[tuple[str, Results]] = []
    with tempfile.TemporaryDirectory(prefix="minga-serve-bench-") as tmp:
        workdir = Path(tmp)
        peer = run_medallion(workdir, args, wrk) if args.medallion_size else None
        if peer is not None:
            title = f"medallion {med_version()}, memory backend, {args.medallion_size:,} objects"
            tables.append((title, peer))
        for backend in backends:
            node = Node(backend, workdir, f"zq{uuid.uuid4().hex[:10]}")
            try:
                for size in sizes:
                    load_s = node.grow(size)
                    print(f"{backend}: {size:,} objects loaded in {load_s:,.0f} s", flush=True)
                    server = node.start(args.workers)
                    try:
                        scenarios = minga_scenarios(node, server, size)
                        found = run_all(f"{backend} {size:,}", server, scenarios, args, wrk)
                    finally:
                        server.stop()
                    workers = max(f.workers for f in found.values())
                    tables.append(
                        (
                            f"minga on {backend}, {size:,} objects, {workers} worker process(es)",
                            found,
                        )
                    )
            finally:
                node.close()
    for title, results in tables:
        minga = title.startswith("minga")
        report(title, results, peer if minga else None, args.clients, minga)
    print("\nRSS/worker: peak resident memory of the largest worker process during the run.")
    if args.medallion_size:
        print(
            "x medallion: requests/s against medallion's at the same clients "
            f"({args.medallion_size:,} objects there)."
        )


def med_version() -> str:
    try:
        from importlib.metadata import version

        return version("medallion")
    except Exception:
        return ""


if __name__ == "__main__":
    try:
        main()
    except httpx.HTTPError as exc:
        raise SystemExit(f"the benchmark could not talk to a server: {exc}") from None
