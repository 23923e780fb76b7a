"""Load generators for `benchmarks/serve.py`: wrk (Debian's `wrk`, Lua-scripted) or, when wrk is
absent, an asyncio httpx client; and a sampler of the server's resident memory per process.

A `Scenario` says what one request is (a fixed GET, a GET of a random stored id, or a POST of
100 new indicators); both drivers make the same requests and report the same `Figures`.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

TAXII = "application/taxii+json;version=2.1"
GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
# The benchmark's stored indicators have the ids `benchmarks.taxii.indicator(n)` gives them:
# uuid.UUID(int=n + 1, version=4).
ID_FORMAT = "indicator--00000000-0000-4000-8000-%012x"
POST_BATCH = 100


@dataclass(frozen=True)
class Scenario:
    name: str
    path: str  # for "id": with {id} where the object id goes
    kind: str = "get"  # get | id | post
    ids: int = 0  # "id": pick n in [0, ids) at random
    headers: tuple[tuple[str, str], ...] = ()


@dataclass
class Figures:
    requests: int = 0
    seconds: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    errors: int = 0  # connection errors, timeouts, non-2xx answers, POSTs with failures
    peak_rss_mb: float = 0.0  # largest resident set of one worker process
    workers: int = 0

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def post_body(rng: random.Random) -> bytes:
    objects = []
    for i in range(POST_BATCH):
        oid = f"indicator--{rng.getrandbits(32):08x}-{rng.getrandbits(16):04x}-4{rng.getrandbits(12):03x}-{8 + rng.getrandbits(2):x}{rng.getrandbits(12):03x}-{rng.getrandbits(48):012x}"  # noqa: E501
        ts = "2024-03-01T12:00:00.000Z"
        ip = f"10.{rng.getrandbits(8)}.{rng.getrandbits(8)}.{i}"
        objects.append(
            f'{{"type":"indicator","spec_version":"2.1","id":"{oid}","created":"{ts}",'
            f'"modified":"{ts}","name":"Posted {i}","pattern":"[ipv4-addr:value = \'{ip}\']",'
            f'"pattern_type":"stix","valid_from":"{ts}","object_marking_refs":["{GREEN}"]}}'
        )
    return ('{"objects":[' + ",".join(objects) + "]}").encode()


# -- wrk -----------------------------------------------------------------------------------

LUA = r"""
local kind, path, ids, idfmt = "%(kind)s", "%(path)s", %(ids)d, "%(idfmt)s"
local threads, counter = {}, 0
function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
  table.insert(threads, thread)
end
function init(args)
  math.randomseed(os.time() * 100 + tid)
  failures = 0
%(headers)s
end
local function hex(n) return string.format("%%0" .. n .. "x", math.random(0, 16 ^ n - 1)) end
local function body()
  local ts, parts = "2024-03-01T12:00:00.000Z", {}
  for i = 1, %(batch)d do
    local id = "indicator--" .. hex(4) .. hex(4) .. "-" .. hex(4) .. "-4" .. hex(3) .. "-"
      .. string.format("%%x", 8 + math.random(0, 3)) .. hex(3) .. "-" .. hex(6) .. hex(6)
    parts[i] = '{"type":"indicator","spec_version":"2.1","id":"' .. id .. '","created":"' .. ts
      .. '","modified":"' .. ts .. '","name":"Posted ' .. i .. '","pattern":"[ipv4-addr:value = '
      .. "'10." .. math.random(0, 255) .. "." .. math.random(0, 255) .. "." .. i .. "'"
      .. ']","pattern_type":"stix","valid_from":"' .. ts .. '","object_marking_refs":["%(green)s"]}'
  end
  return '{"objects":[' .. table.concat(parts, ",") .. ']}'
end
function request()
  if kind == "id" then
    local id = string.format(idfmt, math.random(0, ids - 1) + 1)
    return wrk.format("GET", (string.gsub(path, "{id}", id)))
  elseif kind == "post" then
    return wrk.format("POST", path, nil, body())
  end
  return wrk.format("GET", path)
end
if kind == "post" then
  function response(status, headers, resp)
    if status ~= 202 or not string.find(resp, '"failure_count": ?0') then
      failures = failures + 1
    end
  end
end
function done(summary, latency, requests)
  local failed = 0
  for _, t in ipairs(threads) do failed = failed + (t:get("failures") or 0) end
  local e = summary.errors
  io.write(string.format('WRK {"requests":%%d,"us":%%d,"errors":%%d,"p50":%%d,"p99":%%d}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout + e.status
    + failed, latency:percentile(50), latency:percentile(99)))
end
"""


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def run_wrk(base: str, scenario: Scenario, clients: int, seconds: float) -> Figures:
    headers = "\n".join(f'  wrk.headers["{k}"] = "{v}"' for k, v in scenario.headers)
    if scenario.kind == "post":
        headers += f'\n  wrk.headers["Content-Type"] = "{TAXII}"'
    script = LUA % {
        "kind": scenario.kind,
        "path": scenario.path,
        "ids": max(scenario.ids, 1),
        "idfmt": ID_FORMAT,
        "headers": headers,
        "batch": POST_BATCH,
        "green": GREEN,
    }
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
    try:
        threads = min(clients, os.cpu_count() or 1)
        cmd = ["wrk", f"-t{threads}", f"-c{clients}", f"-d{max(1, round(seconds))}s"]
        cmd += ["--timeout", "60s", "-s", f.name, base]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 180)
    finally:
        Path(f.name).unlink(missing_ok=True)
    found = re.search(r"^WRK (\{.*\})$", out.stdout, re.M)
    if found is None:
        raise SystemExit(f"wrk gave no figures: {out.stdout[-500:]} {out.stderr[-500:]}")
    raw = json.loads(found.group(1))
    return Figures(
        requests=raw["requests"],
        seconds=raw["us"] / 1e6,
        p50_ms=raw["p50"] / 1000,
        p99_ms=raw["p99"] / 1000,
        errors=raw["errors"],
    )


# -- asyncio httpx (when wrk is absent) ----------------------------------------------------


async def _drive(base: str, scenario: Scenario, clients: int, seconds: float) -> Figures:
    latencies: list[float] = []
    errors = 0
    headers = dict(scenario.headers)
    if scenario.kind == "post":
        headers["Content-Type"] = TAXII
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=60) as c:
        deadline = time.perf_counter() + seconds

        async def client(seed: int) -> None:
            nonlocal errors
            rng = random.Random(seed)
            while time.perf_counter() < deadline:
                path = scenario.path
                if scenario.kind == "id":
                    path = path.replace("{id}", ID_FORMAT % (rng.randrange(scenario.ids) + 1))
                started = time.perf_counter()
                try:
                    if scenario.kind == "post":
                        r = await c.post(path, content=post_body(rng))
                        ok = r.status_code == 202 and r.json().get("failure_count") == 0
                    else:
                        r = await c.get(path)
                        ok = r.is_success
                except httpx.HTTPError:
                    ok = False
                latencies.append(time.perf_counter() - started)
                errors += not ok

        started = time.perf_counter()
        await asyncio.gather(*(client(i) for i in range(clients)))
        elapsed = time.perf_counter() - started
    cuts = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else latencies * 99
    return Figures(len(latencies), elapsed, cuts[49] * 1000, cuts[98] * 1000, errors)


def run_httpx(base: str, scenario: Scenario, clients: int, seconds: float) -> Figures:
    return asyncio.run(_drive(base, scenario, clients, seconds))


# -- resident memory -----------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _is_worker(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"resource_tracker" not in cmdline and b"python" in cmdline


@dataclass
class MemorySampler:
    """Peak resident memory of each server worker: the children of `pid` if it has any (a
    supervisor with workers), else `pid` itself; sampled every 0.2 s while running."""

    pid: int
    peaks: dict[int, float] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)

    def workers(self) -> list[int]:
        children = [p for p in _children(self.pid) if _is_worker(p)]
        return children or [self.pid]

    def _run(self) -> None:
        while not self._stop.is_set():
            for pid in self.workers():
                self.peaks[pid] = max(self.peaks.get(pid, 0.0), _rss_mb(pid))
            self._stop.wait(0.2)

    def __enter__(self) -> MemorySampler:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def warm(base: str, scenario: Scenario, timeout: float = 300) -> None:
    """One untimed request first: the token check (argon2 until it is cached) and cold caches
    are not what a run of a few seconds should measure."""
    headers = dict(scenario.headers)
    path = scenario.path.replace("{id}", ID_FORMAT % 1)
    with httpx.Client(base_url=base, headers=headers, timeout=timeout) as c:
        if scenario.kind == "post":
            c.post(path, content=post_body(random.Random()), headers={"Content-Type": TAXII})
        else:
            c.get(path)


def measure(
    base: str,
    scenario: Scenario,
    clients: int,
    seconds: float,
    pid: int | None,
    wrk: bool,
    warm_timeout: float = 300,
) -> Figures:
    """The figures of one run; none (no requests) if even the untimed first request takes
    longer than `warm_timeout` (medallion's memory backend at 10k objects)."""
    run = run_wrk if wrk else run_httpx
    try:
        warm(base, scenario, warm_timeout)
    except httpx.TimeoutException:
        return Figures(seconds=warm_timeout)
    if pid is None:
        return run(base, scenario, clients, seconds)
    with MemorySampler(pid) as sampler:
        figures = run(base, scenario, clients, seconds)
    figures.peak_rss_mb = max(sampler.peaks.values(), default=0.0)
    figures.workers = len(sampler.peaks)
    return figures
