"""Recall receipts in process, on SQLite (and PostgreSQL with --pg URL):

- sign: a node signs its receipts for N arrivals (`queue_from_arrivals`), receipts/s;
- accept: the origin verifies and keeps N receipts delivered in batches of 500 (`accept`),
  receipts/s — what one origin absorbs when N nodes (or N versions) acknowledge at once.

    .venv/bin/python benchmarks/receipts.py                    # 5,000 receipts, SQLite
    .venv/bin/python benchmarks/receipts.py -n 20000 --pg postgresql+psycopg://postgres@127.0.0.1/x
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from nacl.signing import SigningKey
from sqlalchemy import insert

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from minga.accounts import service as accounts  # noqa: E402
from minga.db import make_engine, make_sessionmaker  # noqa: E402
from minga.federation import receipt_accept, receipts  # noqa: E402
from minga.federation.keys import NodeIdentity  # noqa: E402
from minga.federation.models import Arrival, PeerNode  # noqa: E402
from minga.intel import service as intel  # noqa: E402
from minga.migrate import upgrade  # noqa: E402
from minga.policy import Reach  # noqa: E402

BATCH = 500
TS = "2026-12-02T12:00:00.000Z"


def indicator(n: int) -> dict[str, object]:
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--{uuid.UUID(int=n + 1, version=4)}",
        "created": TS,
        "modified": TS,
        "name": f"Benchmark indicator {n}",
        "pattern": f"[ipv4-addr:value = '10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}']",
        "pattern_type": "stix",
        "valid_from": TS,
    }


def run(url: str, n: int) -> tuple[float, float]:
    engine = make_engine(url)
    upgrade(engine)
    sessions = make_sessionmaker(engine)
    here = NodeIdentity("origin", "http://origin.test", SigningKey.generate())
    peer_node = NodeIdentity("peer", "http://peer.test", SigningKey.generate())
    with sessions() as s:
        org = accounts.create_organisation(
            s, None, name=f"Bench {uuid.uuid4().hex[:6]}", country="GT", sector="finance",
            kind="csirt",
        )  # fmt: skip
        user = accounts.create_user(s, None, org_id=org.id, name=f"b-{org.id}", role="analyst")
        me = accounts.principal_for(s, user)
        objs = [indicator(i) for i in range(n)]
        intel.create_objects(s, me, objs, reach=Reach.FEDERATION)
        peer = PeerNode(
            name=f"peer-{org.id}", url="http://peer.test", fingerprint=peer_node.fingerprint,
            public_key=peer_node.public_key_b64, direction="both", token_env="X", org_id=org.id,
            created_at=datetime.now(UTC), push_position=0, sent=0, received=0, rejected=0,
        )  # fmt: skip
        s.add(peer)
        s.flush()
        now = datetime.now(UTC)
        s.execute(
            insert(Arrival),
            [
                {"stix_id": o["id"], "modified": TS, "revoked": False, "origin_node": "peer",
                 "origin_key": peer_node.fingerprint, "hop_count": 1, "from_peer_id": peer.id,
                 "arrived_at": now}
                for o in objs
            ],
        )  # fmt: skip
        s.commit()
        peer_id = peer.id

    start = time.perf_counter()
    with sessions() as s:
        while receipts.queue_from_arrivals(s, here, limit=1000):
            pass
        s.commit()
    sign_rate = n / (time.perf_counter() - start)

    docs = [receipts.receipt_document(peer_node, str(o["id"]), TS, "received") for o in objs]
    key_for = {peer_node.fingerprint: peer_node.public_key}.get
    start = time.perf_counter()
    for i in range(0, n, BATCH):
        with sessions() as s:
            sender = s.get(PeerNode, peer_id)
            assert sender is not None
            done = receipt_accept.accept(
                s, sender, [{"receipt": d} for d in docs[i : i + BATCH]], node=here,
                key_for=key_for,
            )  # fmt: skip
            assert done.count("stored") == len(docs[i : i + BATCH])
            s.commit()
    accept_rate = n / (time.perf_counter() - start)
    engine.dispose()
    return sign_rate, accept_rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=5000, help="receipts (default 5,000)")
    parser.add_argument("--pg", help="a PostgreSQL URL (an empty database) to run on as well")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        backends = [("SQLite", f"sqlite:///{tmp}/bench.db")]
        if args.pg:
            backends.append(("PostgreSQL", args.pg))
        print(f"{'backend':<12}{'sign (receipts/s)':>20}{'accept (receipts/s)':>22}   n={args.n:,}")
        for name, url in backends:
            sign_rate, accept_rate = run(url, args.n)
            print(f"{name:<12}{sign_rate:>20,.0f}{accept_rate:>22,.0f}")


if __name__ == "__main__":
    main()
