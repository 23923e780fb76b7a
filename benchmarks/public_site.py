"""Public site and CSAF provider under a real `uvicorn` (one process, SQLite): latency of the
pages a citizen's phone and a CSAF aggregator fetch, with N published advisories, against the
same server's static style sheet (the floor: no database, no template).

    .venv/bin/python benchmarks/public_site.py            # 1,000 advisories, 200 requests each
    .venv/bin/python benchmarks/public_site.py --quick    # 100 advisories, 50 requests each

Prints p50/p99 in ms, requests/s and the ratio of each p50 to the static file's p50.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import tempfile
import threading
import time
from pathlib import Path

import httpx
import uvicorn
from rich.console import Console
from rich.table import Table

from minga.accounts import service as accounts
from minga.advisories import service
from minga.app import create_app
from minga.db import make_engine, make_sessionmaker, unit_of_work
from minga.migrate import upgrade
from minga.settings import Settings

console = Console(width=140)


def _advisory(n: int) -> dict[str, object]:
    text = {
        "title": f"Advisory {n}: critical flaw in product {n % 37}",
        "summary": f"A flaw in product {n % 37} lets attackers run code. " * 4,
        "what_to_do": "Update to the fixed version.\nIf you cannot, turn the service off.",
    }
    return {
        "texts": {"es": text, "pt": text, "en": text},
        "category": "vulnerability",
        "severity": ("low", "medium", "high", "critical")[n % 4],
        "sectors": [("health", "finance", "energy", "government")[n % 4], "citizens"],
        "products": [{"vendor": "Vendor", "product": f"Product {n % 37}", "versions": "< 2.0"}],
        "cves": [f"CVE-2026-{10000 + n}"],
        "references": [f"https://example.org/advisories/{n}"],
    }


def seed(db_url: str, count: int) -> list[str]:
    engine = make_engine(db_url)
    upgrade(engine)
    ids: list[str] = []
    with unit_of_work(make_sessionmaker(engine)) as session:
        org = accounts.create_organisation(
            session, None, name="CSIRT Bench", country="CR", sector="government", kind="csirt"
        )
        user = accounts.create_user(session, None, org_id=org.id, name="coord", role="coordinator")
        principal = accounts.principal_for(session, user)
        for n in range(count):
            advisory = service.draft(session, principal, _advisory(n), prefix="BENCH")
            service.publish(session, principal, advisory.tracking_id)
            ids.append(advisory.tracking_id)
    engine.dispose()
    return ids


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def measure(client: httpx.Client, path: str, requests: int) -> tuple[float, float, float]:
    client.get(path).raise_for_status()  # warm: templates compiled, key made, caches filled
    times = []
    started = time.perf_counter()
    for _ in range(requests):
        t0 = time.perf_counter()
        client.get(path).raise_for_status()
        times.append((time.perf_counter() - t0) * 1000)
    total = time.perf_counter() - started
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.99) - 1], requests / total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--advisories", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--quick", action="store_true", help="100 advisories, 50 requests")
    args = parser.parse_args()
    count, requests = (100, 50) if args.quick else (args.advisories, args.requests)
    folder = Path(tempfile.mkdtemp())
    db_url = f"sqlite:///{folder / 'bench.db'}"
    t0 = time.perf_counter()
    ids = seed(db_url, count)
    console.print(f"published {count} advisories in {time.perf_counter() - t0:.1f} s")
    port = _port()
    settings = Settings(database_url=db_url, port=port, log_level="warning")
    engine = make_engine(db_url)
    app = create_app(settings, engine=engine)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    middle = ids[len(ids) // 2]
    year = time.gmtime().tm_year
    csaf = f"/.well-known/csaf/white/{year}/{middle.lower()}.json"
    paths = [
        ("static style sheet (floor)", "/static/public.css"),
        ("advisory list", "/public/advisories?lang=es"),
        ("search", "/public/advisories?q=product+7&lang=pt"),
        ("advisory page", f"/public/advisories/{middle}?lang=en"),
        ("RSS feed (es)", "/public/feeds/es.rss"),
        ("Atom feed per sector", "/public/feeds/en/health.atom"),
        ("CSAF provider metadata", "/.well-known/csaf/provider-metadata.json"),
        ("ROLIE feed", "/.well-known/csaf/white/csaf-feed-tlp-white.json"),
        ("CSAF document", csaf),
        ("CSAF signature (.asc)", csaf + ".asc"),
    ]
    table = Table("page", "p50 ms", "p99 ms", "req/s", "p50 / static")
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            floor = None
            for label, path in paths:
                p50, p99, rate = measure(client, path, requests)
                floor = floor or p50
                ratio = f"{p50 / floor:.1f}x"
                table.add_row(label, f"{p50:.1f}", f"{p99:.1f}", f"{rate:.0f}", ratio)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        engine.dispose()
    console.print(table)
    console.print(
        "One process, one client at a time, SQLite. On a loaded machine the absolute figures"
        " mean little; the ratios to the static file say what the database and templates cost."
    )


if __name__ == "__main__":
    main()
