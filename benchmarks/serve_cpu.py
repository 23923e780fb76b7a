"""CPU per request of the node's ASGI app, called in process (no server, no sockets).

`benchmarks/serve.py` measures the node behind uvicorn, but on a shared machine its figures
move with everyone else's load. This one drives `create_app` directly with ASGI messages, one
request at a time, and divides the process's CPU time (all its threads: the thread pool's
work counts) by the requests: what the app itself costs per request, away from the sockets.
Lifespan tasks (background loops) are not started. On PostgreSQL (`--backend postgresql`) the
figure is the app's share only: the server's own CPU per request is not in it.

    .venv/bin/python benchmarks/serve_cpu.py                       # this checkout
    .venv/bin/python benchmarks/serve_cpu.py --code /work/main     # another checkout's minga

Run old and new alternately (`--rounds`) and compare the medians.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# Beside this script (on the path as its directory), whatever checkout `--code` measures.
from asgi_cpu import call, node_app

ROOT = Path(__file__).resolve().parent.parent


def scenarios(token: str, size: int) -> dict[str, list[tuple[str, str, dict[str, str]]]]:
    """name -> (path, query, headers) of each request, ids spread over the store."""
    from benchmarks.taxii import indicator
    from minga.taxii.models import DEFAULT_COLLECTION_ID

    auth = {"authorization": f"Bearer {token}"}
    taxii = {**auth, "accept": "application/taxii+json;version=2.1"}
    rest = {**auth, "accept": "application/json"}
    objects = f"/taxii2/api/collections/{DEFAULT_COLLECTION_ID}/objects/"
    ids = [indicator((n * 7919) % size)["id"] for n in range(200)]
    return {
        "taxii get-by-id": [(f"{objects}{i}/", "", taxii) for i in ids],
        "taxii first page": [(objects, "limit=100", taxii)],
        "rest get-by-id": [(f"/api/objects/{i}", "", rest) for i in ids],
        "health": [("/api/health", "", {})],
    }


async def cpu_ms(app: Any, requests: list[tuple[str, str, dict[str, str]]], n: int) -> float:
    for path, query, headers in requests[:5]:  # warm: caches, compiled statements
        status = await call(app, "GET", path, query, headers)
        if status != 200:
            raise SystemExit(f"{path}: HTTP {status}")
    started = time.process_time()
    for k in range(n):
        await call(app, "GET", *requests[k % len(requests)])
    return 1000 * (time.process_time() - started) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--code", default=str(ROOT), help="the checkout whose minga is measured")
    parser.add_argument("--size", type=int, default=10_000, help="objects stored")
    parser.add_argument("--requests", type=int, default=1000, help="requests per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="measurements per scenario")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--only", default="", help="scenarios whose names contain these words")
    args = parser.parse_args()
    sys.path.insert(0, args.code)  # minga from --code; the benchmark helpers from here
    import minga

    sys.path.insert(1, str(ROOT))
    from benchmarks.serve import Node

    print(f"minga from {Path(minga.__file__).parent}")
    with tempfile.TemporaryDirectory(prefix="minga-serve-cpu-") as tmp:
        node = Node(args.backend, Path(tmp), "zqneedle")
        try:
            node.grow(args.size)
            app = node_app(node.url)
            found: dict[str, list[float]] = {}
            for _ in range(args.rounds):
                for name, requests in scenarios(node.reader_token, args.size).items():
                    words = [w.strip() for w in args.only.split(",") if w.strip()]
                    if words and not any(w in name for w in words):
                        continue
                    ms = asyncio.run(cpu_ms(app, requests, args.requests))
                    found.setdefault(name, []).append(ms)
            for name, values in found.items():
                shown = ", ".join(f"{v:.3f}" for v in values)
                print(f"{name:<18} median {statistics.median(values):.3f} ms CPU/request ({shown})")
        finally:
            node.close()


if __name__ == "__main__":
    main()
