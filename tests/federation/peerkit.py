"""Helpers for the peer tests: a second in-process node (own SQLite database) to peer with."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from minga.accounts import service as accounts
from minga.accounts.node import set_operator_org
from minga.app import create_app
from minga.db import make_engine, make_sessionmaker
from minga.federation.keys import ensure_key, fingerprint
from minga.settings import Settings
from tests.conftest import Member

FINGERPRINT = re.compile(r"(?:[0-9a-f]{4} ){15}[0-9a-f]{4}")


def init_node(
    sessions: sessionmaker[Session], org: str = "CSIRT CR", country: str = "CR"
) -> Member:
    """What `minga init` does: the operator organisation, its admin with a token, the key."""
    with sessions() as s:
        operator = accounts.create_organisation(
            s, None, name=org, country=country, sector="government", kind="csirt"
        )
        set_operator_org(s, operator.id)
        ensure_key(s)
        user = accounts.create_user(s, None, org_id=operator.id, name="operator", role="admin")
        _, issued = accounts.issue_token(s, None, user_id=user.id)
        principal = accounts.principal_for(s, user)
        s.commit()
    return Member(operator.id, user.id, issued.token, principal)


def node_fingerprint(sessions: sessionmaker[Session]) -> str:
    with sessions() as s:
        fp = fingerprint(bytes(ensure_key(s).verify_key))
        s.commit()
    return fp


@dataclass
class OtherNode:
    """A node with its own database, served in process (`client`), to be added as a peer."""

    name: str
    url: str
    client: TestClient
    sessions: sessionmaker[Session]
    operator: Member
    fingerprint: str

    def identity(self) -> dict[str, Any]:
        answer = self.client.get("/federation/node")
        assert answer.status_code == 200
        doc: dict[str, Any] = answer.json()
        return doc

    def fetch(self, url: str) -> dict[str, Any] | None:
        assert url == self.url
        return self.identity()


@contextmanager
def other_node(
    template: Path, tmp: Path, name: str = "csirt-gt", org: str = "CSIRT GT", country: str = "GT"
) -> Iterator[OtherNode]:
    path = tmp / f"{name}.db"
    shutil.copy(template, path)
    url = f"sqlite:///{path}"
    public = f"http://{name}.test:8000"
    settings = Settings(
        database_url=url,
        node_name=name,
        public_url=public,
        ingest_worker_seconds=0,
        taxii_pull_check_seconds=0,
    )
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    operator = init_node(sessions, org, country)
    try:
        with TestClient(create_app(settings, engine=engine)) as client:
            yield OtherNode(name, public, client, sessions, operator, node_fingerprint(sessions))
    finally:
        engine.dispose()


@dataclass
class ServedNode:
    """A real `minga serve` process (own SQLite database), initialised with `minga init`."""

    name: str
    url: str
    fingerprint: str  # as `minga node show` prints it (blocks of four)
    show: str  # the whole `minga node show` output


@contextmanager
def served_node(tmp: Path, name: str = "csirt-gt") -> Iterator[ServedNode]:
    from typer.testing import CliRunner

    from minga.cli import app
    from tests.intel.served import free_port

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        "MINGA_DATABASE_URL": f"sqlite:///{tmp / f'{name}.db'}",
        "MINGA_NODE_NAME": name,
        "MINGA_PUBLIC_URL": url,
        "MINGA_TAXII_PULL_CHECK_SECONDS": "0",
        "MINGA_INGEST_WORKER_SECONDS": "0",
        "MINGA_SECRET_KEY": "test-only-key",
        "MINGA_LOG_LEVEL": "warning",
    }
    runner = CliRunner()
    done = runner.invoke(app, ["init", "--org", "CSIRT GT", "--country", "GT"], env=env)
    assert done.exit_code == 0, done.output
    show = runner.invoke(app, ["node", "show"], env=env)
    assert show.exit_code == 0, show.output
    found = FINGERPRINT.search(show.output)
    assert found is not None, show.output
    code = "import sys; from minga.cli import main; sys.argv[0] = 'minga'; main()"
    log = (tmp / f"{name}.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-c", code, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env={**os.environ, **env},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 180  # a loaded 2-core machine can take a minute
        while True:
            assert process.poll() is None and time.monotonic() < deadline, "serve did not start"
            try:
                if httpx.get(f"{url}/api/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield ServedNode(name, url, found.group(0), show.output)
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
