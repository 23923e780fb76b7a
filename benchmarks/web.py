"""Page load times of the web UI with many stored objects (default: one million, SQLite).

    python benchmarks/web.py                       # 1,000,000 objects in ./bench-web.db
    python benchmarks/web.py --objects 50000 --db /tmp/small.db
    python benchmarks/web.py --quick               # 20,000 objects in a temporary file
    python benchmarks/web.py --database-url postgresql+psycopg://postgres@127.0.0.1/bench_web

The database is kept and reused on the next run (objects are only added up to --objects). Pages
are requested in-process through the whole ASGI app (routing, session cookie check, policy-
filtered queries, templates), signed in as an analyst of one organisation; the first request of
each page is a warm-up, then the median and the slowest of --repeat runs are printed.

Free-text search (`/objects?q=`) goes through the text index (`minga.intel.search`: SQLite FTS5
trigrams, PostgreSQL pg_trgm); after the load the SQLite index is caught up as `minga serve`
does in the background, and PostgreSQL is analysed as autovacuum would. The searches: a rare
text (111 matches), one of 2,531 matches, old and sparse among the rows the reader may see (on
PostgreSQL found through its rarest piece, `10.3.7`, whose trigrams are far cheaper to look up
than the whole text's), a common one (most objects), one that matches nothing.
Target: free-text search <= 50 ms at 1M objects on both backends (the LIKE scan it replaced
took 463 ms on SQLite).
"""

from __future__ import annotations

import argparse
import re
import statistics
import time
import uuid
from pathlib import Path
from typing import Any

import pyotp
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text

from minga.accounts import service as accounts
from minga.accounts import signin
from minga.app import create_app
from minga.db import make_engine, make_sessionmaker, unit_of_work
from minga.demo.loader import load
from minga.intel import search
from minga.intel import service as intel
from minga.intel.models import objects
from minga.migrate import upgrade
from minga.policy import Reach, Tlp
from minga.settings import Settings

BATCH = 5000
TLPS = [Tlp.CLEAR, Tlp.GREEN, Tlp.GREEN, Tlp.AMBER, Tlp.AMBER, Tlp.AMBER_STRICT, Tlp.RED]
REACHES = [Reach.COMMUNITY, Reach.COMMUNITY, Reach.FEDERATION, Reach.ORGANISATION]
TS = "2024-05-01T12:00:00.000Z"


def _indicator(n: int) -> dict[str, Any]:
    ip = f"{10 + n // 16_777_216 % 200}.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--{uuid.UUID(int=n, version=4)}",
        "created": TS,
        "modified": TS,
        "name": f"C2 server {ip}",
        "pattern": f"[ipv4-addr:value = '{ip}']",
        "pattern_type": "stix",
        "valid_from": TS,
    }


def _malware(n: int) -> dict[str, Any]:
    return {
        "type": "malware",
        "spec_version": "2.1",
        "id": f"malware--{uuid.UUID(int=(1 << 100) + n, version=4)}",
        "created": TS,
        "modified": TS,
        "name": f"Family {n}",
        "is_family": True,
    }


def _relationship(n: int, source: str, target: str) -> dict[str, Any]:
    return {
        "type": "relationship",
        "spec_version": "2.1",
        "id": f"relationship--{uuid.UUID(int=(2 << 100) + n, version=4)}",
        "created": TS,
        "modified": TS,
        "relationship_type": "indicates",
        "source_ref": source,
        "target_ref": target,
    }


def fill(db_url: str, total: int) -> int:
    """Add generated objects until the store holds `total` (demo community first)."""
    engine = make_engine(db_url)
    upgrade(engine)
    sessions = make_sessionmaker(engine)
    with unit_of_work(sessions) as s:
        load(s, issue_tokens=False)
        have = s.scalar(select(func.count()).select_from(objects)) or 0
        publishers = [
            accounts.principal_for(s, u)
            for u in accounts.list_users(s)
            if u.role in ("analyst", "coordinator")
        ]
        group_ids = [g.id for g in accounts.list_groups(s)]
    started, n = time.monotonic(), have
    while n < total:
        size = min(BATCH, total - n)
        batch = n // BATCH
        who = publishers[batch % len(publishers)]
        items: list[dict[str, Any]] = []
        for i in range(n, n + size):
            kind = i % 10
            if kind == 0:
                items.append(
                    _relationship(
                        i, f"indicator--{uuid.UUID(int=i - 1, version=4)}", _malware(i % 997)["id"]
                    )
                )
            elif kind == 1 and i % 1000 < 10:
                items.append(_malware(i))
            else:
                items.append(_indicator(i))
        with unit_of_work(sessions) as s:
            groups = [group_ids[batch % len(group_ids)]] if batch % 25 == 0 else []
            intel.create_objects(
                s,
                who,
                items,
                tlp=TLPS[batch % len(TLPS)],
                reach=REACHES[batch % len(REACHES)],
                group_ids=groups if who.group_ids & set(groups) else [],
            )
        n += size
        if (n - have) % 100_000 < BATCH:
            rate = (n - have) / (time.monotonic() - started)
            print(f"  {n:>9,} objects ({rate:,.0f}/s)", flush=True)
    t0 = time.monotonic()
    with unit_of_work(sessions) as s:
        indexed = search.catch_up(s)
    if indexed:
        print(f"  text index: {indexed:,} objects in {time.monotonic() - t0:.1f} s", flush=True)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(text("VACUUM ANALYZE"))
    engine.dispose()
    return n


def _sign_in(client: TestClient, sessions: Any, user_id: int) -> None:
    """Password, then the authenticator app's enrolment, as a person's first sign-in."""
    password = signin.generate_password()
    with unit_of_work(sessions) as s:
        signin.set_password(s, user_id, password)
        signin.reset_totp(s, user_id)
    csrf = _field(client.get("/signin").text, "csrf")
    client.post("/signin", data={"csrf": csrf, "name": "maria.lopez", "password": password})
    page = client.get("/signin/enrol").text
    code = pyotp.TOTP(_field(page, "secret", attr="id").replace(" ", "")).now()
    r = client.post("/signin/enrol", data={"csrf": _field(page, "csrf"), "code": code})
    assert r.status_code == 200, r.text


def _field(html: str, name: str, attr: str = "name") -> str:
    found = re.search(rf'{attr}="{name}"[^>]* value="([^"]+)"', html)
    assert found is not None, name
    return found.group(1)


def measure(db_url: str, repeat: int) -> list[tuple[str, float, float]]:
    engine = make_engine(db_url)
    sessions = make_sessionmaker(engine)
    with unit_of_work(sessions) as s:
        user = accounts.find_user(s, "maria.lopez")  # CSIRT-GT, analyst
        user_id = user.id
        some = s.execute(
            select(objects.c.stix_id)
            .where(objects.c.type == "indicator", objects.c.tlp == "clear")
            .order_by(objects.c.pk.desc())
            .limit(1)
        ).scalar_one()
    app = create_app(Settings(database_url=db_url), engine=engine)
    client = TestClient(app)
    _sign_in(client, sessions, user_id)
    pages = [
        "/",
        "/objects",
        "/objects?type=indicator&tlp=green",
        "/objects?q=family+7",
        "/objects?q=c2+server+10.3.7",  # 2,531 of a million, old: few visible near the top
        "/objects?q=c2+server",  # common: most objects
        "/objects?q=no+such+text+anywhere",
        f"/objects/{some}",
        "/objects/report--718e8be6-1f4a-457a-a122-4726fc00c065",
        "/publish/indicator",
        "/admin/groups",
    ]
    results = []
    for page in pages:
        assert client.get(page).status_code == 200, page
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            r = client.get(page)
            times.append((time.perf_counter() - t0) * 1000)
            assert r.status_code == 200
        results.append((page, statistics.median(times), max(times)))
    engine.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=1_000_000)
    parser.add_argument("--db", type=Path, default=Path("bench-web.db"))
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--database-url", default="", help="e.g. a PostgreSQL database")
    parser.add_argument("--quick", action="store_true", help="20,000 objects, 5 runs, temp file")
    args = parser.parse_args()
    if args.quick:
        import tempfile

        args.objects, args.repeat = 20_000, 5
        if not args.database_url:
            args.db = Path(tempfile.mkdtemp()) / "bench-web.db"
    db_url = args.database_url or f"sqlite:///{args.db.resolve()}"
    print(f"Filling {db_url} to {args.objects:,} objects ...", flush=True)
    stored = fill(db_url, args.objects)
    print(f"{stored:,} objects stored. Page load times ({args.repeat} runs each):")
    print(f"{'page':<60} {'median ms':>10} {'max ms':>8}")
    for page, median, worst in measure(db_url, args.repeat):
        print(f"{page[:60]:<60} {median:>10.1f} {worst:>8.1f}")
    print("target: free-text search (/objects?q=) <= 50 ms at 1M objects on both backends")


if __name__ == "__main__":
    main()
