"""Two real nodes (`minga init`, `minga serve` on loopback ports; a on the backend under test,
b on SQLite): a version published at a is pushed to b by the sync loop, b's receipt loop sends
its receipt back over HTTP, and a recall at a comes back as a "recalled" receipt."""

from __future__ import annotations

import base64
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from minga.accounts import service as accounts
from minga.accounts.models import Organisation
from minga.accounts.node import operator_org_id
from minga.db import make_engine, make_sessionmaker
from minga.federation.keys import ensure_key, fingerprint
from minga.federation.models import PeerNode
from tests.factories import indicator

MINGA = str(Path(sys.executable).parent / "minga")
PATIENCE = 60.0  # seconds a node may take to do what it is waiting for (not a speed check)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ServedNode:
    name: str
    db_url: str
    port: int = field(default_factory=free_port)
    env: dict[str, str] = field(default_factory=dict)
    token: str = ""
    process: subprocess.Popen[bytes] | None = None
    log: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def settings_env(self) -> dict[str, str]:
        return {
            **os.environ,
            "MINGA_DATABASE_URL": self.db_url,
            "MINGA_NODE_NAME": self.name,
            "MINGA_PORT": str(self.port),
            "MINGA_PUBLIC_URL": self.url,
            "MINGA_SECRET_KEY": f"test-secret-{self.name}",
            "MINGA_INGEST_WORKER_SECONDS": "0",
            "MINGA_TAXII_PULL_CHECK_SECONDS": "0",
            "MINGA_FEDERATION_RECEIPTS_SECONDS": "0.2",
            "MINGA_LOG_LEVEL": "warning",
            **self.env,
        }

    def init(self, org: str, country: str, cwd: Path) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [MINGA, "init", "--org", org, "--country", country],
            env=self.settings_env(), cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip

    def initialised(self, init: subprocess.Popen[str]) -> None:
        stdout, stderr = init.communicate(timeout=120)
        assert init.returncode == 0, stderr
        self.token = next(w for w in stdout.split() if w.startswith("mg_"))

    def start(self, cwd: Path) -> None:
        self.log = cwd / f"{self.name}.log"
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [MINGA, "serve"], env=self.settings_env(), cwd=cwd, stdout=out, stderr=out
            )

    def healthy(self) -> bool:
        return self.get("/api/health").status_code == 200

    def get(self, path: str) -> httpx.Response:
        try:
            return httpx.get(self.url + path, headers=self.headers, timeout=5)
        except httpx.HTTPError:
            return httpx.Response(599)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def wait_for(check: Callable[[], bool], *nodes: ServedNode) -> None:
    deadline = time.monotonic() + PATIENCE
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    logs = "\n".join(n.log.read_text()[-3000:] for n in nodes if n.log and n.log.exists())
    pytest.fail(f"the nodes did not get there within {PATIENCE:.0f} s; their logs:\n{logs}")


def identity_of(node: ServedNode) -> tuple[str, str]:
    """(public key base64, operator organisation's STIX identity) read from its database."""
    engine = make_engine(node.db_url)
    try:
        with make_sessionmaker(engine)() as s:
            key = bytes(ensure_key(s).verify_key)
            org = s.get(Organisation, operator_org_id(s))
            assert org is not None
            return base64.b64encode(key).decode(), org.identity_ref
    finally:
        engine.dispose()


def join(host: ServedNode, guest: ServedNode) -> None:
    """What `minga peer add` does on `host` for `guest`: the guest's remote organisation, its
    machine account and the peer row; the token goes into the guest's environment."""
    public_key, identity_ref = identity_of(guest)
    env_name = f"MINGA_TEST_TOKEN_FROM_{host.name.upper()}"
    engine = make_engine(host.db_url)
    try:
        with make_sessionmaker(engine)() as s:
            org = Organisation(
                name=f"node {guest.name}", country="ZZ", sector="government", kind="csirt",
                identity_ref=identity_ref, created_at=datetime.now(UTC), remote_node=guest.name,
            )  # fmt: skip
            s.add(org)
            s.flush()
            user = accounts.create_user(
                s, None, org_id=org.id, name=f"peer-{guest.name}", role="machine",
                allow_remote=True,
            )  # fmt: skip
            _, issued = accounts.issue_token(s, None, user_id=user.id)
            s.add(
                PeerNode(
                    name=guest.name, url=guest.url, direction="both",
                    fingerprint=fingerprint(base64.b64decode(public_key)),
                    public_key=public_key, token_env=f"MINGA_TEST_TOKEN_FROM_{guest.name.upper()}",
                    org_id=org.id, created_at=datetime.now(UTC), push_position=0, sent=0,
                    received=0, rejected=0,
                )
            )  # fmt: skip
            s.commit()
            assert s.scalar(select(PeerNode.id).where(PeerNode.name == guest.name))
    finally:
        engine.dispose()
    guest.env[env_name] = issued.token


@pytest.fixture
def served(db_url: str, sqlite_template: Path, tmp_path: Path) -> Iterator[list[ServedNode]]:
    b_db = tmp_path / "b.db"
    shutil.copy(sqlite_template, b_db)
    a, b = ServedNode("isac", db_url), ServedNode("csirt-gt", f"sqlite:///{b_db}")
    try:
        # Both at once: each step takes seconds on a busy machine.
        inits = a.init("ISAC Finanzas", "GT", tmp_path), b.init("CSIRT GT", "GT", tmp_path)
        a.initialised(inits[0])
        b.initialised(inits[1])
        join(a, b)
        join(b, a)
        a.start(tmp_path)
        b.start(tmp_path)
        wait_for(lambda: a.healthy() and b.healthy(), a, b)
        yield [a, b]
    finally:
        a.stop()
        b.stop()


def receipts_at(node: ServedNode, stix_id: str) -> dict[str, Any]:
    answer = node.get(f"/api/objects/{stix_id}/receipts")
    return answer.json() if answer.status_code == 200 else {}


def test_served_nodes_send_receipts_for_a_version_and_its_recall(served: list[ServedNode]):
    a, b = served
    obj = indicator(61, name="Ransomware loader")
    made = httpx.post(
        f"{a.url}/api/objects?reach=federation&tlp=green", json=obj, headers=a.headers, timeout=10
    )
    assert made.status_code == 201, made.text

    wait_for(lambda: receipts_at(a, obj["id"]).get("received") == 1, a, b)
    tally = receipts_at(a, obj["id"])
    assert tally["recalled"] == 0
    assert [n["node"] for n in tally["nodes"]] == ["csirt-gt"]
    assert tally["nodes"][0]["key_vouched"] is False  # b is a pinned peer of a

    revoked = httpx.post(f"{a.url}/api/objects/{obj['id']}/revoke", headers=a.headers, timeout=10)
    assert revoked.status_code == 200, revoked.text
    wait_for(lambda: receipts_at(a, obj["id"]).get("recalled") == 1, a, b)
    meta = a.get(f"/api/objects/{obj['id']}").json()["meta"]
    assert meta["receipts"] == {"received": 1, "recalled": 1}
