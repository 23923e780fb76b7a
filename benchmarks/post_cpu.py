"""CPU per TAXII POST of 100 new indicators, the node's ASGI app called in process.

Like `benchmarks/serve_cpu.py` (no server, no sockets; process CPU of all threads divided by
requests), for the add-objects path: each request is an envelope of 100 indicators never seen
before, built the way `benchmarks/load.py` builds the served benchmark's POST bodies.

    .venv/bin/python benchmarks/post_cpu.py                       # this checkout
    .venv/bin/python benchmarks/post_cpu.py --code /work/main     # another checkout's minga

Run old and new alternately and compare the medians.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# Beside this script (on the path as its directory), whatever checkout `--code` measures.
from asgi_cpu import call, node_app

ROOT = Path(__file__).resolve().parent.parent
TAXII = "application/taxii+json;version=2.1"


async def post(app: Any, path: str, token: str, body: bytes) -> int:
    headers = {"authorization": f"Bearer {token}", "accept": TAXII, "content-type": TAXII}
    return await call(app, "POST", path, "", {**headers, "content-length": str(len(body))}, body)


async def cpu_ms(
    app: Any, path: str, token: str, bodies: list[bytes], clients: int = 1
) -> tuple[float, float]:
    """CPU ms per request and the slowest request's seconds, `clients` requests at a time."""
    gate = asyncio.Semaphore(clients)
    slowest = 0.0

    async def one(body: bytes) -> None:
        nonlocal slowest
        async with gate:
            began = time.perf_counter()
            status = await post(app, path, token, body)
            slowest = max(slowest, time.perf_counter() - began)
        if status != 202:
            raise SystemExit(f"POST: HTTP {status}")

    started = time.process_time()
    await asyncio.gather(*(one(body) for body in bodies))
    return 1000 * (time.process_time() - started) / len(bodies), slowest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--code", default=str(ROOT), help="the checkout whose minga is measured")
    parser.add_argument("--size", type=int, default=10_000, help="objects stored before")
    parser.add_argument("--requests", type=int, default=50, help="POSTs per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="measurements")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--clients", type=int, default=1, help="requests in flight at once")
    args = parser.parse_args()
    sys.path.insert(0, args.code)  # minga from --code; the benchmark helpers from here
    import minga

    sys.path.insert(1, str(ROOT))
    from benchmarks.load import post_body
    from benchmarks.serve import Node
    from minga.taxii.models import DEFAULT_COLLECTION_ID

    print(f"minga from {Path(minga.__file__).parent}")
    path = f"/taxii2/api/collections/{DEFAULT_COLLECTION_ID}/objects/"
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="minga-post-cpu-") as tmp:
        node = Node("sqlite", Path(tmp), "zqneedle")
        try:
            node.grow(args.size)
            app = node_app(node.url)
            asyncio.run(cpu_ms(app, path, node.owner_token, [post_body(rng) for _ in range(3)]))
            values, slowest = [], []
            for _ in range(args.rounds):
                bodies = [post_body(rng) for _ in range(args.requests)]
                ms, worst = asyncio.run(cpu_ms(app, path, node.owner_token, bodies, args.clients))
                values.append(ms)
                slowest.append(worst)
            shown = ", ".join(f"{v:.2f}" for v in values)
            median = statistics.median(values)
            print(
                f"post 100 objects @{args.clients}: median {median:.2f} ms CPU/request ({shown}),"
                f" slowest {max(slowest):.2f} s"
            )
        finally:
            node.close()


if __name__ == "__main__":
    main()
