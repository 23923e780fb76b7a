"""Federated `minga serve` processes on loopback ports, each with its own database, joined as
peers through `peers.add_peer` before they start (unreachable then: each key is pinned at
first contact by the sync loop, as for a peer that was down when it was added)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from minga.db import make_engine, make_sessionmaker
from minga.federation import peers
from minga.federation.models import PeerNode
from minga.migrate import upgrade
from tests.conftest import PG_ADMIN_URL, Member
from tests.federation.peerkit import init_node, node_fingerprint
from tests.intel.served import free_port


@dataclass
class ServedNode:
    name: str
    database_url: str
    log: Path
    port: int = field(default_factory=free_port)
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    operator: Member | None = None
    fingerprint: str = ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def sessions(self) -> sessionmaker[Session]:
        return make_sessionmaker(make_engine(self.database_url))

    def init(self, country: str) -> None:
        engine = make_engine(self.database_url)
        upgrade(engine)
        sessions = make_sessionmaker(engine)
        self.operator = init_node(sessions, org=f"CSIRT {self.name}", country=country)
        self.fingerprint = node_fingerprint(sessions)
        engine.dispose()

    def start(self) -> None:
        env = {
            **os.environ,
            **self.env,
            "MINGA_DATABASE_URL": self.database_url,
            "MINGA_NODE_NAME": self.name,
            "MINGA_PUBLIC_URL": self.url,
            "MINGA_TAXII_PULL_CHECK_SECONDS": "0",
            "MINGA_INGEST_WORKER_SECONDS": "0",
            "MINGA_SECRET_KEY": "test-only-key",
            "MINGA_LOG_LEVEL": "warning",
        }
        code = "import sys; from minga.cli import main; sys.argv[0] = 'minga'; main()"
        args = [
            sys.executable,
            "-c",
            code,
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
        ]
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 180  # a loaded 2-core machine can take a minute
        while True:
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{self.name} did not start: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/api/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def api(self, method: str, path: str, **kw: Any) -> httpx.Response:
        assert self.operator is not None
        headers = {**kw.pop("headers", {}), "Authorization": f"Bearer {self.operator.token}"}
        return httpx.request(method, self.url + path, headers=headers, timeout=300, **kw)

    def peer(self, name: str) -> PeerNode:
        with self.sessions()() as s:
            return peers.get_peer(s, name)

    def query(self, sql: str, **params: Any) -> list[Any]:
        engine = create_engine(self.database_url)
        try:
            with engine.connect() as conn:
                return list(conn.execute(text(sql), params).all())
        finally:
            engine.dispose()


def join(a: ServedNode, b: ServedNode, a_to_b: str = "both", b_to_a: str = "both") -> None:
    """Make two (stopped) nodes peers: each issues the other's token, kept in its env."""
    for host, other, direction in ((a, b, a_to_b), (b, a, b_to_a)):
        with host.sessions()() as s:
            added = peers.add_peer(
                s,
                None,
                name=other.name,
                url=other.url,
                fingerprint_text=other.fingerprint,
                direction=direction,
                token_env=f"MINGA_PEER_TOKEN_{other.name.upper()}",
                fetch=lambda _url: None,  # not serving yet: pinned at first contact
            )
            s.commit()
        other.env[f"MINGA_PEER_TOKEN_{host.name.upper()}"] = added.token.token


def pg_database_url() -> tuple[str, Callable[[], None]]:
    """A fresh PostgreSQL database and a function that drops it."""
    name = f"minga_fed_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}", drop


def wait_for(check: Callable[[], bool], seconds: float = 20.0) -> bool:
    """Poll `check` until it holds or `seconds` pass (a bound so a failure cannot hang)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


def count_stored(node: ServedNode, stix_id: str) -> int:
    rows = node.query("SELECT count(*) FROM stix_objects WHERE stix_id = :i", i=stix_id)
    return int(rows[0][0])
