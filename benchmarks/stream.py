"""Real-time delivery: fan-out of committed changes to many SSE readers (and, added by their
sections, webhook deliveries and the NATS event bus).

Sections (each a function `section(args) -> list[str]` in SECTIONS, so more can be added):

- `sse`: a real `minga serve` process (embedded default: the database outbox, one tailer per
  process); 1,000 concurrent `GET /api/stream` readers from several organisations, opened by
  an asyncio httpx client; a publisher POSTs indicators at mixed TLP and reach (some for
  everyone, some for the publishing organisation only), so the policy filter decides every
  delivery. Figures: latency from the POST being sent to each reader receiving the object
  (p50/p99, one object at a time at `--rate`; it includes the write itself, whose own latency
  is shown beside it); messages delivered per second when one bulk write of `--burst`
  objects reaches every reader; and the check that every reader got exactly what it may see.
- `filter`: the cost of deciding a batch for 1,000 readers as the hub does (one read, then the
  pure policy per reader) beside the naive way (every reader reads the batch itself), in
  this process, on the same data: the ratio is what sharing one read per process buys.
- `webhooks`: deliveries/s of the webhook queue and sender to a local receiver (4 webhooks,
  every object to each), beside bare sequential POSTs of the same bodies
  (`benchmarks/webhooks.py`).

    .venv/bin/python benchmarks/stream.py --quick          # 200 readers, SQLite
    .venv/bin/python benchmarks/stream.py                  # 1,000 readers, SQLite, 1 and 2 workers
    .venv/bin/python benchmarks/stream.py --backends sqlite,postgresql --sections sse
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.ingest import fresh_database, pg_reachable  # noqa: E402
from benchmarks.taxii import free_port  # noqa: E402
from minga.accounts import service as accounts  # noqa: E402
from minga.db import make_engine, make_sessionmaker  # noqa: E402
from minga.migrate import upgrade  # noqa: E402

# `minga` through `-c`: the worker processes `--workers` spawns must not run the CLI again.
MINGA = [
    sys.executable,
    "-c",
    "import sys; from minga.cli import main; sys.argv[0] = 'minga'; main()",
]
ORGS = 5  # organisations reading; the first one publishes
USERS_PER_ORG = 4
# What the publisher sends, in turn: (tlp, reach, seen by everyone?)
MIX = [("green", "community", True), ("amber", "community", True), ("red", "community", False)]
MIX += [("green", "organisation", False)]


@dataclass
class Community:
    url: str
    cleanup: Callable[[], None]
    tokens: list[tuple[int, str]] = field(default_factory=list)  # (org index, token)


def build_community(backend: str, workdir: Path) -> Community:
    url, cleanup = fresh_database(backend, workdir)
    engine = make_engine(url)
    upgrade(engine)
    sessions = make_sessionmaker(engine)
    community = Community(url, cleanup)
    with sessions() as s:
        for o in range(ORGS):
            org = accounts.create_organisation(
                s, None, name=f"Org {o}", country="CR" if o % 2 else "GT", sector="finance",
                kind="csirt",
            )  # fmt: skip
            for u in range(USERS_PER_ORG):
                user = accounts.create_user(
                    s, None, org_id=org.id, name=f"o{o}-u{u}", role="analyst"
                )
                _, issued = accounts.issue_token(s, None, user_id=user.id)
                community.tokens.append((o, issued.token))
        s.commit()
    engine.dispose()
    return community


def start_node(url: str, workers: int, log: Path) -> subprocess.Popen[bytes]:
    port = free_port()
    env = {
        **os.environ,
        "MINGA_DATABASE_URL": url,
        "MINGA_LOG_LEVEL": "warning",
        "MINGA_TAXII_PULL_CHECK_SECONDS": "0",
        "MINGA_INGEST_WORKER_SECONDS": "0",
        "MINGA_SCORE_REFRESH_SECONDS": "0",
        "MINGA_FEDERATION_SYNC_SECONDS": "0",
    }
    cmd = [*MINGA, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    with log.open("ab") as out:
        process = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
    process.url = f"http://127.0.0.1:{port}"  # type: ignore[attr-defined]
    deadline = time.monotonic() + 600  # a loaded machine takes long to import everything
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"minga serve exited with {process.returncode}; see {log}")
        try:
            if httpx.get(f"{process.url}/api/health", timeout=2).status_code == 200:  # type: ignore[attr-defined]
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit("minga serve did not start within 600 s")


def stop_node(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


# -- section: SSE fan-out ---------------------------------------------------------------------


@dataclass
class Reader:
    org: int
    got: list[tuple[str, float]] = field(default_factory=list)  # (object name, received at)


@dataclass
class Crowd:
    total: int
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    done: asyncio.Event = field(default_factory=asyncio.Event)
    opened: int = 0


async def _read(
    client: httpx.AsyncClient, url: str, token: str, reader: Reader, crowd: Crowd
) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    async with client.stream("GET", f"{url}/api/stream?events=object", headers=headers) as r:
        r.raise_for_status()
        async for line in r.aiter_lines():
            if line.startswith(": connected"):
                crowd.opened += 1
                if crowd.opened == crowd.total:
                    crowd.ready.set()
            elif line.startswith("data: "):
                name = orjson.loads(line[6:])["object"]["name"]
                reader.got.append((name, time.time()))
            if crowd.done.is_set():
                return


def _indicator(name: str, n: int) -> dict:
    return {
        "type": "indicator", "spec_version": "2.1",
        "id": f"indicator--{uuid.uuid4()}", "created": "2026-01-01T00:00:00.000Z",
        "modified": "2026-01-01T00:00:00.000Z", "name": name,
        "pattern": f"[ipv4-addr:value = '203.0.113.{n % 250}']",
        "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z",
    }  # fmt: skip


async def _publish(client: httpx.AsyncClient, url: str, count: int, rate: float) -> list[float]:
    """POST `count` indicators one by one, `rate` per second; the POST latencies (s)."""
    posted = []
    for n in range(count):
        tlp, reach, _ = MIX[n % len(MIX)]
        sent = time.time()
        body = orjson.dumps(_indicator(f"bench {n} {sent:.6f}", n))
        params = {"tlp": tlp, "reach": reach}
        r = await client.post(f"{url}/api/objects", params=params, content=body)
        r.raise_for_status()
        posted.append(time.time() - sent)
        await asyncio.sleep(max(0.0, 1 / rate - (time.time() - sent)))
    return posted


async def _burst(client: httpx.AsyncClient, url: str, count: int) -> float:
    """One bulk POST of `count` indicators every reader may see; when it was sent."""
    sent = time.time()
    objs = [_indicator(f"burst {n} {sent:.6f}", n) for n in range(count)]
    body = orjson.dumps({"objects": objs, "tlp": "green", "reach": "community"})
    r = await client.post(f"{url}/api/objects/bulk", content=body)
    r.raise_for_status()
    return sent


async def _until(crowd: list[Reader], expected: dict[int, int], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if all(len(r.got) >= expected[r.org] for r in crowd):
            return
        await asyncio.sleep(0.1)


async def _fanout(url: str, community: Community, args: argparse.Namespace) -> dict:
    tokens, readers, objects = community.tokens, args.readers, args.objects
    crowd = [Reader(tokens[i % len(tokens)][0]) for i in range(readers)]
    limits = httpx.Limits(max_connections=readers + 10, max_keepalive_connections=readers + 10)
    timeout = httpx.Timeout(300.0, connect=60.0)
    state = Crowd(readers)
    publisher = next(t for o, t in tokens if o == 0)
    headers = {"Authorization": f"Bearer {publisher}", "Content-Type": "application/json"}
    async with (
        httpx.AsyncClient(limits=limits, timeout=timeout) as client,
        httpx.AsyncClient(timeout=300, headers=headers) as writer,
    ):
        tasks = [
            asyncio.create_task(_read(client, url, tokens[i % len(tokens)][1], reader, state))
            for i, reader in enumerate(crowd)
        ]
        t_open = time.monotonic()
        await asyncio.wait_for(state.ready.wait(), 600)
        opened_in = time.monotonic() - t_open
        # Latency: objects one at a time; the publisher's organisation sees every one.
        posted = await _publish(writer, url, objects, args.rate)
        everyone = sum(1 for n in range(objects) if MIX[n % len(MIX)][2])
        expected = {r.org: everyone if r.org else objects for r in crowd}
        await _until(crowd, expected, 120)
        latencies = [at - float(name.rsplit(" ", 1)[1]) for r in crowd for name, at in r.got]
        # Throughput: one bulk write every reader may see, delivered to all of them.
        before = {id(r): len(r.got) for r in crowd}
        sent = await _burst(writer, url, args.burst)
        expected = {r.org: expected[r.org] + args.burst for r in crowd}
        await _until(crowd, expected, 300)
        state.done.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    burst = [at for r in crowd for _, at in r.got[before[id(r)] :]]
    return {
        "opened_in": opened_in,
        "delivered": sum(len(r.got) for r in crowd),
        "expected": sum(expected[r.org] for r in crowd),
        "wrong_readers": sum(1 for r in crowd if len(r.got) != expected[r.org]),
        "per_second": len(burst) / max(max(burst, default=sent) - sent, 1e-9),
        "burst_seconds": max(burst, default=sent) - sent,
        "p50": pct(latencies, 50),
        "p99": pct(latencies, 99),
        "post_p50": pct(posted, 50),
        "post_p99": pct(posted, 99),
    }


def section_sse(args: argparse.Namespace) -> list[str]:
    lines = []
    with tempfile.TemporaryDirectory(prefix="minga-stream-bench-") as tmp:
        for backend in args.backends:
            for workers in args.workers:
                community = build_community(backend, Path(tmp))
                node = start_node(community.url, workers, Path(tmp) / "serve.log")
                try:
                    f = asyncio.run(_fanout(node.url, community, args))  # type: ignore[attr-defined]
                finally:
                    stop_node(node)
                    community.cleanup()
                lines.append(
                    f"sse {backend} workers={workers} readers={args.readers}: "
                    f"{f['per_second']:,.0f} messages/s delivered ({args.burst} objects in one "
                    f"write to every reader in {f['burst_seconds']:.1f} s); POST sent -> delivered "
                    f"p50 {f['p50'] * 1000:.0f} ms p99 {f['p99'] * 1000:.0f} ms "
                    f"(the POST itself p50 {f['post_p50'] * 1000:.0f} ms p99 "
                    f"{f['post_p99'] * 1000:.0f} ms); {f['delivered']:,} of {f['expected']:,} "
                    f"expected, {f['wrong_readers']} readers off; {args.readers} streams "
                    f"opened in {f['opened_in']:.1f} s"
                )
                print(lines[-1], flush=True)
    return lines


# -- section: deciding a batch for many readers ---------------------------------------------------


def section_filter(args: argparse.Namespace) -> list[str]:
    from minga.events import stream
    from minga.intel import service as intel
    from minga.policy import Reach, Tlp

    with tempfile.TemporaryDirectory(prefix="minga-stream-bench-") as tmp:
        community = build_community("sqlite", Path(tmp))
        engine = make_engine(community.url)
        sessions = make_sessionmaker(engine)
        with sessions() as s:
            principals = [accounts.principal_for(s, u) for u in accounts.list_users(s)]
            owner = principals[0]
            for n in range(args.objects):
                tlp, reach, _ = MIX[n % len(MIX)]
                obj = {
                    "type": "indicator", "spec_version": "2.1", "id": f"indicator--{uuid.uuid4()}",
                    "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
                    "name": f"i{n}", "pattern": f"[ipv4-addr:value = '203.0.113.{n % 250}']",
                    "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z",
                }  # fmt: skip
                intel.create_objects(s, owner, [obj], tlp=Tlp(tlp), reach=Reach(reach))
            s.commit()
        readers = [principals[i % len(principals)] for i in range(args.readers)]
        filters = stream.StreamFilters()

        events: list[object] = []

        def shared() -> int:
            with sessions() as s:
                batch = stream.read(s, 0, limit=args.objects)
            events[:] = batch.events
            return sum(len(stream.messages(p, filters, batch)) for p in readers)

        def naive() -> int:
            told = 0
            for p in readers:
                with sessions() as s:
                    told += len(stream.messages(p, filters, stream.read(s, 0, limit=args.objects)))
            return told

        figures = {}
        for name, fn, repeat in (("shared", shared, 3), ("naive", naive, 1)):
            runs = []
            for _ in range(repeat):  # the naive way is slow enough to time once
                t0 = time.perf_counter()
                told = fn()
                runs.append(time.perf_counter() - t0)
            figures[name] = (statistics.median(runs), told)
        engine.dispose()
        community.cleanup()
    (t_shared, n_shared), (t_naive, n_naive) = figures.values()
    assert n_shared == n_naive, "both ways must tell the same"
    line = (
        f"filter: a batch of {len(events)} events for {args.readers} readers: one read per batch "
        f"{t_shared * 1000:.0f} ms ({n_shared / t_shared:,.0f} messages/s), one read per reader "
        f"{t_naive * 1000:.0f} ms; ratio {t_naive / t_shared:.1f}x"
    )
    print(line, flush=True)
    return [line]


def section_webhooks(args: argparse.Namespace) -> list[str]:
    """Webhook deliveries/s through the queue and sender (`benchmarks/webhooks.py`)."""
    from benchmarks import webhooks

    objects = 200 if args.quick else 2000
    lines = []
    for backend in args.backends:
        f = webhooks.measure(backend, objects=objects, hooks=4)
        line = (
            f"webhooks ({backend}): {f['delivered']:,} of {f['deliveries']:,} delivered, "
            f"{f['deliveries_per_s']:,.0f} deliveries/s (queued in {f['queue_seconds']:.2f} s); "
            f"bare sequential POSTs {f['naive_per_s']:,.0f}/s"
        )
        print(line, flush=True)
        lines.append(line)
    return lines


SECTIONS: dict[str, Callable[[argparse.Namespace], list[str]]] = {
    "sse": section_sse,
    "filter": section_filter,
    "webhooks": section_webhooks,
}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="200 readers, SQLite, one worker")
    parser.add_argument("--readers", type=int, default=1000)
    parser.add_argument("--objects", type=int, default=200, help="indicators published")
    parser.add_argument("--rate", type=float, default=10.0, help="indicators POSTed per second")
    parser.add_argument("--burst", type=int, default=100, help="indicators in the bulk write")
    parser.add_argument("--backends", default="sqlite", help="sqlite,postgresql")
    parser.add_argument("--workers", default="1,2", help="minga serve --workers, comma-separated")
    parser.add_argument("--sections", default=",".join(SECTIONS))
    args = parser.parse_args()
    args.backends = [b for b in args.backends.split(",") if b]
    args.workers = [int(w) for w in args.workers.split(",") if w]
    if args.quick:
        args.readers, args.objects, args.backends, args.workers = 200, 40, ["sqlite"], [1]
        args.burst = 50
    if "postgresql" in args.backends and not pg_reachable():
        print("PostgreSQL is not reachable: SQLite only")
        args.backends = [b for b in args.backends if b != "postgresql"]
    print(f"load average before: {os.getloadavg()[0]:.1f} (2 cores shared)", flush=True)
    lines = []
    for name in args.sections.split(","):
        lines += SECTIONS[name](args)
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    print("\n".join(["", "summary:", *lines]))


if __name__ == "__main__":
    main()
