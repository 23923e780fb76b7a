"""TAXII 2.1 side by side: this node against medallion (memory backend), same indicators.

Both servers run as subprocesses on 127.0.0.1. For each size: first-page latency (median of a
few requests), a full walk following `next`, and (at the first size) POST throughput. medallion
filters and sorts its whole store on every first page, so beyond a few thousand objects it is
bounded by --medallion-timeout and reported as "> N s".

    .venv/bin/python benchmarks/taxii.py                      # 1k, 10k, 100k (medallion 1k, 10k)
    .venv/bin/python benchmarks/taxii.py --sizes 1000 --limit 1000
    .venv/bin/python benchmarks/taxii.py --million            # adds 1M (minga only)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from minga.accounts import service as accounts  # noqa: E402
from minga.db import make_engine, make_sessionmaker  # noqa: E402
from minga.intel.service import create_objects  # noqa: E402
from minga.intel.stix import TLP2_MARKING_ID  # noqa: E402
from minga.migrate import upgrade  # noqa: E402
from minga.policy import Tlp  # noqa: E402
from minga.taxii.models import DEFAULT_COLLECTION_ID  # noqa: E402

TAXII = "application/taxii+json;version=2.1"
GREEN = TLP2_MARKING_ID[Tlp.GREEN]
MEDALLION_COLLECTION = "91a7b528-80eb-42ed-a74d-c6fbd5a26116"
LOAD_BATCH = 5000


def indicator(n: int) -> dict[str, Any]:
    ts = "2024-03-01T12:00:00.000Z"
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--{uuid.UUID(int=n + 1, version=4)}",
        "created": ts,
        "modified": ts,
        "name": f"Benchmark indicator {n}",
        "pattern": f"[ipv4-addr:value = '10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}']",
        "pattern_type": "stix",
        "valid_from": ts,
        "object_marking_refs": [GREEN],
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    name: str
    base: str  # API root URL
    collection_url: str
    auth: httpx.Auth | None
    headers: dict[str, str]
    process: subprocess.Popen[bytes] | None = None

    def client(self, timeout: float = 600.0) -> httpx.Client:
        return httpx.Client(
            auth=self.auth, headers={"Accept": TAXII, **self.headers}, timeout=timeout
        )

    def wait_ready(self, url: str, seconds: float = 120.0) -> None:
        deadline = time.monotonic() + seconds
        with self.client(timeout=5) as c:
            while time.monotonic() < deadline:
                if self.process is not None and self.process.poll() is not None:
                    raise SystemExit(f"{self.name} exited with code {self.process.returncode}")
                try:
                    if c.get(url).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                time.sleep(0.2)
        raise SystemExit(f"{self.name} did not start within {seconds:.0f} s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


# -- minga ---------------------------------------------------------------------------------


class Minga:
    def __init__(self, workdir: Path) -> None:
        self.url = f"sqlite:///{workdir / 'minga.db'}"
        self.engine = make_engine(self.url)
        upgrade(self.engine)
        self.sessions = make_sessionmaker(self.engine)
        with self.sessions() as s:
            org = accounts.create_organisation(
                s, None, name="Bench CSIRT", country="CR", sector="government", kind="csirt"
            )
            user = accounts.create_user(s, None, org_id=org.id, name="bench", role="analyst")
            _, issued = accounts.issue_token(s, None, user_id=user.id)
            self.principal = accounts.principal_for(s, user)
            s.commit()
        self.token = issued.token
        self.count = 0  # indicators stored

    def grow(self, size: int) -> float:
        """Store indicators up to `size`; seconds taken."""
        started = time.perf_counter()
        while self.count < size:
            n = min(LOAD_BATCH, size - self.count)
            with self.sessions() as s:
                create_objects(s, self.principal, [indicator(self.count + i) for i in range(n)])
                s.commit()
            self.count += n
        return time.perf_counter() - started

    def start(self) -> Server:
        port = free_port()
        env = {
            **os.environ,
            "MINGA_DATABASE_URL": self.url,
            "MINGA_LOG_LEVEL": "warning",
            "MINGA_TAXII_PULL_CHECK_SECONDS": "0",
            "MINGA_PAGE_SIZE_MAX": "10000",
        }
        cmd = [str(Path(sys.executable).parent / "minga"), "serve", "--port", str(port)]
        base = f"http://127.0.0.1:{port}/taxii2/api/"
        server = Server(
            "minga",
            base,
            f"{base}collections/{DEFAULT_COLLECTION_ID}/objects/",
            None,
            {"Authorization": f"Bearer {self.token}"},
            subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
        )
        server.wait_ready(base)
        return server


# -- medallion -----------------------------------------------------------------------------


def start_medallion(workdir: Path, size: int, limit: int) -> Server:
    port = free_port()
    added = 1_709_294_400_000_000  # 2024-03-01T12:00:00Z in microseconds
    objects = [indicator(n) for n in range(size)]
    manifest = [
        {
            "id": o["id"],
            "date_added": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime((added + i) // 10**6))
            + f".{(added + i) % 10**6:06d}Z",
            "version": o["modified"],
            "media_type": "application/stix+json;version=2.1",
        }
        for i, o in enumerate(objects)
    ]
    base = f"http://127.0.0.1:{port}/bench/"
    data = {
        "/discovery": {"title": "medallion", "default": base, "api_roots": [base]},
        "bench": {
            "information": {
                "title": "bench",
                "versions": [TAXII],
                "max_content_length": 100 * 1024 * 1024,
            },
            "status": [],
            "collections": [
                {
                    "id": MEDALLION_COLLECTION,
                    "title": "bench",
                    "can_read": True,
                    "can_write": True,
                    "media_types": ["application/stix+json;version=2.1"],
                    "objects": objects,
                    "manifest": manifest,
                }
            ],
        },
    }
    data_file = workdir / f"medallion-{size}.json"
    data_file.write_bytes(orjson.dumps(data))
    config = {
        "backend": {
            "module": "medallion.backends.memory_backend",
            "module_class": "MemoryBackend",
            "filename": str(data_file),
            "session_timeout": 3600,
        },
        "users": {"bench": "secret"},
        "taxii": {"max_page_size": max(limit, 100)},
    }
    config_file = workdir / "medallion.json"
    config_file.write_text(json.dumps(config))
    cmd = [sys.executable, "-m", "medallion.scripts.run", "--port", str(port)]
    cmd += ["--log-level", "ERROR", str(config_file)]
    server = Server(
        "medallion",
        base,
        f"{base}collections/{MEDALLION_COLLECTION}/objects/",
        httpx.BasicAuth("bench", "secret"),
        {},
        subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
    )
    server.wait_ready(base)
    return server


# -- measurements --------------------------------------------------------------------------


@dataclass
class Result:
    first_page_ms: float | None = None  # None: did not finish within the budget
    walk_s: float | None = None
    pages: int = 0
    objects: int = 0
    budget_s: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def per_page_ms(self) -> float | None:
        return self.walk_s * 1000 / self.pages if self.walk_s is not None and self.pages else None


def _get(client: httpx.Client, url: str, params: dict[str, Any], timeout: float) -> httpx.Response:
    response = client.get(url, params=params, timeout=httpx.Timeout(timeout))
    if response.status_code != 200:
        raise SystemExit(f"{url} answered {response.status_code}: {response.text[:300]}")
    return response


def measure(server: Server, limit: int, budget: float, repeats: int = 5) -> Result:
    """First-page median and a full walk, all within `budget` seconds."""
    result = Result(budget_s=budget)
    deadline = time.monotonic() + budget
    samples: list[float] = []
    with server.client() as client:
        try:
            for _ in range(repeats):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                started = time.perf_counter()
                _get(client, server.collection_url, {"limit": limit}, remaining)
                samples.append(time.perf_counter() - started)
            if not samples:
                return result
            result.first_page_ms = statistics.median(samples) * 1000
            started = time.perf_counter()
            params: dict[str, Any] = {"limit": limit}
            seen: set[str] = set()
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise httpx.ReadTimeout("budget spent")
                body = _get(client, server.collection_url, params, remaining).json()
                page = body.get("objects", [])
                if len(page) > limit:
                    result.notes.append(f"page of {len(page)} > limit {limit}")
                seen.update(o["id"] for o in page)
                result.pages += 1
                result.objects += len(page)
                if not body.get("more"):
                    break
                params = {"limit": limit, "next": body["next"]}
            result.walk_s = time.perf_counter() - started
            if len(seen) != result.objects:
                result.notes.append(f"{result.objects - len(seen)} duplicates across pages")
        except httpx.TimeoutException:
            if samples:
                result.first_page_ms = statistics.median(samples) * 1000
            result.walk_s = None
    return result


def post_throughput(server: Server, objects: list[dict[str, Any]], batch: int) -> float:
    """Objects per second added with POSTs of `batch` objects."""
    headers = {"Content-Type": TAXII}
    started = time.perf_counter()
    with server.client() as client:
        for i in range(0, len(objects), batch):
            body = orjson.dumps({"objects": objects[i : i + batch]})
            r = client.post(server.collection_url, content=body, headers=headers)
            if r.status_code != 202 or r.json().get("failure_count"):
                raise SystemExit(f"{server.name} POST failed: {r.status_code} {r.text[:300]}")
    return len(objects) / (time.perf_counter() - started)


# -- report --------------------------------------------------------------------------------


def fmt(value: float | None, unit: str, budget: float) -> str:
    if value is None:
        return f"> {budget:.0f} s"
    return f"{value:,.1f} ms" if unit == "ms" else f"{value:,.2f} s"


def ratio(ours: float | None, theirs: float | None, budget: float) -> str:
    """How many times slower medallion is (a lower bound when it ran out of time)."""
    if not ours:
        return "-"
    if theirs is None:
        return f"> {budget / ours:,.0f}x"
    return f"{theirs / ours:,.1f}x"


def report(rows: list[tuple[int, Result, Result | None, float]], limit: int) -> None:
    print(f"\nTAXII 2.1 on loopback, limit={limit} objects per page; minga on SQLite")
    head = f"{'objects':>9} | {'metric':<24} | {'minga':>12} | {'medallion':>12} | {'ratio':>8}"
    print(head)
    print("-" * len(head))
    for size, mine, theirs, load_s in rows:
        metrics = [
            ("first page", "ms", mine.first_page_ms, theirs and theirs.first_page_ms, 1000),
            (f"full walk ({mine.pages} pages)", "s", mine.walk_s, theirs and theirs.walk_s, 1),
            ("mean per page", "ms", mine.per_page_ms, theirs and theirs.per_page_ms, 1000),
        ]
        for i, (name, unit, ours, other, scale) in enumerate(metrics):
            if theirs is None:
                cell, factor = "not run", ""
            elif name == "mean per page" and other is None:
                cell, factor = "-", ""
            else:
                cell = fmt(other, unit, theirs.budget_s)
                factor = ratio(ours, other, theirs.budget_s * scale)
            label = f"{size:>9,}" if i == 0 else " " * 9
            print(f"{label} | {name:<24} | {fmt(ours, unit, 0):>12} | {cell:>12} | {factor:>8}")
        print(f"{'':>9} | {'minga load (direct)':<24} | {load_s:>10.1f} s | {'':>12} | {'':>8}")
        for note in mine.notes + (theirs.notes if theirs else []):
            print(f"{'':>9} | NOTE: {note}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="comma-separated sizes")
    parser.add_argument("--million", action="store_true", help="also 1,000,000 (minga only)")
    parser.add_argument("--limit", type=int, default=100, help="objects per page")
    parser.add_argument("--medallion-max", type=int, default=10000, help="largest medallion size")
    parser.add_argument("--medallion-timeout", type=float, default=120.0, help="seconds per size")
    parser.add_argument("--post", type=int, default=1000, help="objects POSTed (0: skip)")
    parser.add_argument("--post-batch", type=int, default=100, help="objects per POST")
    args = parser.parse_args()
    wanted = {int(s) for s in args.sizes.split(",") if s.strip()}
    if args.million:
        wanted.add(1_000_000)
    sizes = sorted(wanted)
    if any(s >= 1_000_000 for s in sizes) and not args.million:
        parser.error("sizes of a million or more need --million")

    workdir = Path(tempfile.mkdtemp(prefix="minga-taxii-bench-"))
    minga = Minga(workdir)
    ours = minga.start()
    rows: list[tuple[int, Result, Result | None, float]] = []
    post: tuple[float, float] | None = None
    try:
        for size in sizes:
            load_s = minga.grow(size)
            mine = measure(ours, args.limit, budget=3600)
            theirs = None
            if size <= args.medallion_max:
                med = start_medallion(workdir, size, args.limit)
                try:
                    theirs = measure(med, args.limit, budget=args.medallion_timeout, repeats=3)
                finally:
                    med.stop()
            rows.append((size, mine, theirs, load_s))
            line = (
                f"{size:>9,}: minga first page {fmt(mine.first_page_ms, 'ms', 0)}, "
                f"walk {fmt(mine.walk_s, 's', 0)} ({mine.pages} pages, {mine.objects} objects)"
            )
            if theirs is not None:
                line += (
                    f"; medallion first page {fmt(theirs.first_page_ms, 'ms', theirs.budget_s)}"
                    f", walk {fmt(theirs.walk_s, 's', theirs.budget_s)}"
                )
            print(line, flush=True)
        if args.post:
            # Into minga's largest store and a 1k-object medallion: medallion checks every
            # new object against every stored one, so a bigger store would only slow it more.
            extra = [indicator(10_000_000 + n) for n in range(args.post)]
            mine_rate = post_throughput(ours, extra, args.post_batch)
            med = start_medallion(workdir, 1000, args.limit)
            try:
                post = (mine_rate, post_throughput(med, extra, args.post_batch))
            finally:
                med.stop()
    finally:
        ours.stop()
        minga.engine.dispose()
        shutil.rmtree(workdir, ignore_errors=True)

    report(rows, args.limit)
    if post is not None:
        mine_rate, med_rate = post
        print(
            f"{'POST':>9} | {f'objects/s, {args.post_batch} per POST':<24} | "
            f"{mine_rate:>10,.0f}/s | {med_rate:>10,.0f}/s | {mine_rate / med_rate:>7.1f}x"
        )
        print(f"{'':>9} | (minga store: {sizes[-1]:,} objects; medallion store: 1,000 objects)")


if __name__ == "__main__":
    main()
