"""Federation between real nodes: propagation latency across 3 hops, and backfill over one hop.

Every node is a `minga serve` process on 127.0.0.1 with its own database, set up with the
federation commands (`minga init`, `minga node show`, `minga peer add`), as in
tests/federation/test_nodes.py.

- **Latency**: the chain sector ISAC → national CSIRT GT → regional hub → national CSIRT CR
  (peered both ways). Objects are published at the ISAC one at a time (reach `federation`,
  TLP:GREEN, REST POST), each after the previous one arrived; each one's latency is from just
  before the POST to the moment it is stored at CR (its database polled every 2 ms; each is
  then checked visible over CR's REST API). p50/p99 over `--objects`.
- **Backfill**: a node holding `--backfill` objects (stored before it has any peer) is peered
  with an empty one; objects/s from both nodes answering with the peer tokens to the last
  object stored at the new peer (a count of its arrivals), and over the span from the first to
  the last stored there.

Printed beside the status quo: MISP's scheduled pull and OpenCTI's live stream, from their
documentation (see `STATUS_QUO`).

    .venv/bin/python benchmarks/federation.py                         # 200 objects, 100k backfill
    .venv/bin/python benchmarks/federation.py --objects 300 --backfill 20000
    .venv/bin/python benchmarks/federation.py --backend postgresql    # every node on PostgreSQL
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from minga.accounts import service as accounts  # noqa: E402
from minga.accounts.models import User  # noqa: E402
from minga.db import make_sessionmaker  # noqa: E402
from minga.intel.service import create_objects  # noqa: E402
from minga.policy import Reach, Tlp  # noqa: E402
from tests.federation.nodes import (  # noqa: E402
    Network,
    Node,
    NodeError,
    Spec,
    indicator,
    network,
    wait_until,
)

CHAIN = ["isac", "gt", "hub", "cr"]
SPECS = {
    "isac": ("Banking ISAC GT", "GT"),
    "gt": ("CSIRT GT", "GT"),
    "hub": ("Regional hub", "PA"),
    "cr": ("CSIRT CR", "CR"),
}
LOAD_BATCH = 5000
STATUS_QUO = [
    (
        "MISP scheduled pull",
        "'pull synchronisation is only performed on command'; to run it on a schedule an admin"
        " sets the pre-defined pull_all task's frequency in hours, or a cron job (MISP's CLI"
        " training example pulls every 6 h) — no default interval: an object waits up to one"
        " interval per pulling hop",
        "https://github.com/MISP/misp-book/blob/main/sharing/README.md (Pull vs Push) ;"
        " https://circl.lu/doc/misp/administration (Scheduling Jobs and Recurring Jobs) ;"
        " https://www.misp-project.org/misp-training/a.b-cli.pdf",
    ),
    (
        "OpenCTI live stream",
        "documented as 'a real time way to consume STIX CTI information' (Redis stream, served"
        " as SSE); the documentation gives no latency or throughput figure",
        "https://docs.opencti.io/latest/reference/streaming/",
    ),
]


def specs(backend: str, names: list[str]) -> list[Spec]:
    return [Spec(n, SPECS[n][0], SPECS[n][1], backend) for n in names]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


# -- latency -------------------------------------------------------------------------------


def latency(net: Network, count: int, timeout: float) -> list[float]:
    """Seconds from publish at the first node of the chain to stored at the last, per object.

    The far node's database is polled (every 2 ms, a cheap read, where REST polling would eat
    the CPU the nodes need); once timed, each object is also fetched from the far node's REST
    API as its operator, so "stored" is checked to mean "visible there".
    """
    first, last = net[CHAIN[0]], net[CHAIN[-1]]
    results: list[float] = []
    with first.client() as pub, last.client() as read:
        for n in range(count):
            obj = indicator("Latency", n)
            started = time.perf_counter()
            answer = pub.post(
                "/api/objects", json=obj, params={"reach": "federation", "tlp": "green"}
            )
            if answer.status_code != 201:
                raise NodeError(f"publish answered {answer.status_code}: {answer.text}")
            deadline = started + timeout
            while not last.versions_of(obj["id"]):
                if time.perf_counter() > deadline:
                    raise NodeError(
                        f"object {n} not at {last.name} after {timeout:.0f} s;"
                        f" {len(results)} arrived before it"
                    )
                time.sleep(0.002)
            results.append(time.perf_counter() - started)
            seen = read.get(f"/api/objects/{obj['id']}")
            if seen.status_code != 200:
                raise NodeError(f"object {n} is stored at {last.name} but answers {seen.text}")
    return results


# -- backfill ------------------------------------------------------------------------------


def preload(node: Node, size: int) -> float:
    """Store `size` federation objects at `node` as its operator; seconds taken."""
    sessions = make_sessionmaker(node.engine)
    with sessions() as s:
        admin = s.query(User).filter(User.role == "admin").order_by(User.id).first()
        assert admin is not None
        principal = accounts.principal_for(s, admin)
    started = time.perf_counter()
    done = 0
    while done < size:
        n = min(LOAD_BATCH, size - done)
        with sessions() as s:
            items = [indicator("Backfill", done + i) for i in range(n)]
            create_objects(s, principal, items, tlp=Tlp.GREEN, reach=Reach.FEDERATION)
            s.commit()
        done += n
    return time.perf_counter() - started


def arrived(node: Node) -> int:
    """Indicators stored at `node` that came from a peer."""
    return int(
        node.scalar("select count(*) from federation_arrivals where stix_id like 'indicator--%'")
    )


def backfill(root: Path, backend: str, size: int, timeout: float) -> dict[str, Any]:
    """A source holding `size` objects is peered with an empty node: seconds from both
    running with the peer tokens to the last object stored at the new peer."""
    net = Network(root / "backfill")
    try:
        source, target = (net.add(s) for s in specs(backend, ["gt", "hub"]))
        for node in (source, target):
            node.init()
        load_s = preload(source, size)
        for node in (source, target):  # no sync while they are being peered
            node.env_extra["MINGA_FEDERATION_SYNC_SECONDS"] = "0"
        net.start()
        net.link([("gt", "hub")])
        for node in (source, target):
            node.stop()
            node.env_extra.pop("MINGA_FEDERATION_SYNC_SECONDS")
        net.start()
        started = time.perf_counter()
        cpu = {n.name: n.cpu_seconds() for n in (source, target)}
        last = [0, started]

        def done() -> bool:
            count = arrived(target)
            if count != last[0]:
                last[:] = [count, time.perf_counter()]
            return count >= size

        wait_until(done, timeout=timeout, interval=0.25, what=f"backfill of {size} objects")
        span_us = target.scalar(
            "select max(o.added_us) - min(o.added_us) from stix_objects o"
            " join federation_arrivals a on a.stix_id = o.stix_id"
        )
        return {
            "objects": size,
            "load_s": load_s,
            "seconds": last[1] - started,
            "stored_span_s": int(span_us) / 1e6,
            "cpu_source_s": source.cpu_seconds() - cpu[source.name],
            "cpu_target_s": target.cpu_seconds() - cpu[target.name],
        }
    finally:
        net.close()


# -- main ----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--objects", type=int, default=200, help="objects for the latency run; 0 skips it"
    )
    parser.add_argument("--backfill", type=int, default=100_000, help="0 skips the backfill")
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per object")
    args = parser.parse_args()
    print(f"Load average before the run: {os.getloadavg()[0]:.1f} ({os.cpu_count()} CPUs)")

    with tempfile.TemporaryDirectory(prefix="minga-fed-bench-") as tmp:
        root = Path(tmp)
        links = list(itertools.pairwise(CHAIN))
        if args.objects:
            print(f"Chain {' → '.join(CHAIN)} on {args.backend}; peering both ways…", flush=True)
            with network(root / "latency", specs(args.backend, CHAIN), links) as net:
                # One object first so every connection and key look-up is warm.
                latency(net, 1, args.timeout)
                values = latency(net, args.objects, args.timeout)
            ms = [v * 1000 for v in values]
            print(f"\nPropagation, publish at {CHAIN[0]} → visible at {CHAIN[-1]} (3 hops),")
            print(f"{len(ms)} objects one at a time:")
            print(f"  p50 {percentile(ms, 0.50):8.1f} ms")
            print(f"  p99 {percentile(ms, 0.99):8.1f} ms")
            print(f"  max {max(ms):8.1f} ms   mean {statistics.fmean(ms):.1f} ms")

        if args.backfill:
            print(f"\nBackfill of {args.backfill} objects over one hop…", flush=True)
            result = backfill(root, args.backend, args.backfill, timeout=3600)
            rate = result["objects"] / result["seconds"]
            span = result["stored_span_s"]
            print(f"  preloaded at the source in {result['load_s']:.1f} s")
            print(
                f"  {result['objects']} objects in {result['seconds']:.1f} s from both nodes"
                f" answering = {rate:,.0f} objects/s"
            )
            print(
                f"  (first to last stored at the new peer: {span:.1f} s ="
                f" {result['objects'] / max(span, 1e-6):,.0f} objects/s)"
            )
            cpu_s, cpu_t = result["cpu_source_s"], result["cpu_target_s"]
            print(
                f"  CPU used meanwhile: source {cpu_s:.1f} s, new peer {cpu_t:.1f} s"
                f" ({result['objects'] / max(cpu_s + cpu_t, 1e-6):,.0f} objects per CPU-second"
                " of both nodes together)"
            )

    print("\nThe status quo it replaces:")
    for name, figure, source in STATUS_QUO:
        print(f"  {name}: {figure}\n    ({source})")


if __name__ == "__main__":
    main()
