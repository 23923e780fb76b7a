"""Real Minga nodes for federation tests and the federation benchmark.

A `Node` is one `minga serve` process on a free loopback port with its own database (a SQLite
file in a temporary directory, or a fresh PostgreSQL database on 127.0.0.1:5432). It is set up
the way an operator would: `minga init` with `MINGA_NODE_NAME`/`MINGA_PUBLIC_URL` in the
environment, then the `minga` commands of the federation contract (`node show`, `peer add`),
with the tokens a peer gives passed to `minga serve` through environment variables. It can be
killed (SIGKILL, as a crash) and started again on the same port and database.

No pytest here: `benchmarks/federation.py` uses the same harness.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, create_engine, text

from minga.db import make_engine

PG_ADMIN_URL = os.environ.get(
    "MINGA_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
TAXII = "application/taxii+json;version=2.1"
TOKEN = re.compile(r"\bmg_[0-9a-f]{12}_[A-Za-z0-9_-]{20,}")
FINGERPRINT = re.compile(r"\b[0-9a-f]{4}(?: ?[0-9a-f]{4}){15}\b")
# `minga` as the installed script runs it, whatever the venv's bin directory is.
MINGA = [
    sys.executable,
    "-c",
    "import sys; from minga.cli import main; sys.argv[0] = 'minga'; main()",
]


class NodeError(RuntimeError):
    """A node did not do what the harness asked (the message carries its output)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(
    check: Callable[[], Any], *, timeout: float, interval: float = 0.1, what: str = "a condition"
) -> Any:
    """Poll `check` until it returns something truthy; that value, or NodeError at `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise NodeError(f"{what} did not happen within {timeout:.0f} s (last: {value!r})")
        time.sleep(interval)


# -- databases -----------------------------------------------------------------------------


def pg_available() -> str | None:
    """None when PostgreSQL answers at PG_ADMIN_URL, else the reason it does not."""
    try:
        engine = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
        return None
    except Exception as exc:  # any failure to connect means "not reachable"
        return str(exc).splitlines()[0]


@dataclass
class Database:
    """A node's own database: `url` for MINGA_DATABASE_URL; `drop()` removes it."""

    url: str
    backend: str
    pg_name: str | None = None

    @classmethod
    def sqlite(cls, directory: Path) -> Database:
        return cls(f"sqlite:///{directory / 'minga.db'}", "sqlite")

    @classmethod
    def postgresql(cls, label: str) -> Database:
        name = f"minga_fed_{label}_{uuid.uuid4().hex[:8]}"
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        return cls(PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}", "postgresql", name)

    def drop(self) -> None:
        if self.pg_name is None:
            return
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.pg_name}" WITH (FORCE)'))
        admin.dispose()


# -- nodes ---------------------------------------------------------------------------------


@dataclass
class Node:
    """One Minga node: its database, its `minga serve` process, its operator's admin token."""

    name: str
    workdir: Path
    database: Database
    org: str
    country: str
    port: int = field(default_factory=free_port)
    # Extra MINGA_* settings and the peer-token variables `minga serve` reads.
    env_extra: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    token: str = ""  # the operator admin's API token, from `minga init`
    _fingerprint: str = ""
    _engine: Engine | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.workdir / "serve.log"

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "MINGA_DATABASE_URL": self.database.url,
            "MINGA_NODE_NAME": self.name,
            "MINGA_PUBLIC_URL": self.url,
            "MINGA_HOST": "127.0.0.1",
            "MINGA_PORT": str(self.port),
            "MINGA_SECRET_KEY": f"test-only-key-{self.name}",
            "MINGA_LOG_LEVEL": "warning",
            "MINGA_INGEST_WORKER_SECONDS": "0",
            "MINGA_TAXII_PULL_CHECK_SECONDS": "0",
            "COLUMNS": "200",  # rich wraps at the terminal width: keep tokens on one line
            **self.env_extra,
        }

    # The command line, as the node's operator runs it.

    def run(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        """Run `minga ARGS` for this node, as its operator does on the node's machine."""
        return subprocess.run(
            [*MINGA, *args],
            env=self.env(),
            cwd=self.workdir,  # no stray .env file is read
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def cli(self, *args: str, timeout: float = 180) -> str:
        """`minga ARGS`; its stdout (NodeError with both outputs when it fails)."""
        done = self.run(*args, timeout=timeout)
        if done.returncode != 0:
            raise NodeError(
                f"{self.name}: minga {' '.join(args)} exited {done.returncode}:\n"
                f"{done.stdout}{done.stderr}"
            )
        return done.stdout

    def init(self) -> str:
        """`minga init` for this node's operator organisation; keeps the admin token."""
        out = self.cli("init", "--org", self.org, "--country", self.country)
        self.token = _one(TOKEN, out, f"{self.name}: no API token in `minga init` output")
        return self.token

    def fingerprint(self) -> str:
        """The key fingerprint `minga node show` prints (64 hex digits, blocks joined)."""
        if not self._fingerprint:
            out = self.cli("node", "show")
            found = _one(FINGERPRINT, out, f"{self.name}: no fingerprint in `minga node show`")
            self._fingerprint = found.replace(" ", "")
        return self._fingerprint

    def add_peer(self, peer: Node, *, direction: str = "both") -> str:
        """`minga peer add` for `peer`; the one-time token `peer` must present to this node.

        This node presents to `peer` the token read from the variable `token_env(peer)`.
        """
        out = self.cli(
            "peer",
            "add",
            peer.name,
            peer.url,
            "--fingerprint",
            peer.fingerprint(),
            "--direction",
            direction,
            "--token-env",
            token_env(peer.name),
        )
        return _one(TOKEN, out, f"{self.name}: no token in `minga peer add {peer.name}` output")

    # The process.

    def start(self, *, wait: bool = True) -> None:
        if self.running:
            raise NodeError(f"{self.name} is already running")
        with self.log.open("ab") as out:
            out.write(f"--- start {time.strftime('%H:%M:%S')}\n".encode())
            self.process = subprocess.Popen(
                [*MINGA, "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                env=self.env(),
                cwd=self.workdir,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        if wait:
            self.wait_ready()

    def wait_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=2) as client:
            while True:
                if self.process is None or self.process.poll() is not None:
                    raise NodeError(f"{self.name}: minga serve ended:\n{self.tail()}")
                try:
                    if client.get(f"{self.url}/api/health").status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise NodeError(
                        f"{self.name}: no answer within {timeout:.0f} s:\n{self.tail()}"
                    )
                time.sleep(0.1)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: a crash, no shutdown work done."""
        if self.process is not None and self.running:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        """A clean stop (SIGTERM, SIGKILL after 10 s)."""
        if self.process is not None and self.running:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def restart(self) -> None:
        self.stop()
        self.start()

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the serve process and its worker processes used so far
        (Linux /proc; `minga serve --workers N` runs the work in child processes)."""
        if self.process is None:
            return 0.0
        return _tree_cpu(self.process.pid) / os.sysconf("SC_CLK_TCK")

    def tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    # Talking to it.

    def client(self, token: str | None = None, **kwargs: Any) -> httpx.Client:
        """An HTTP client on this node, as its operator admin (or with `token`).

        No keep-alive: uvicorn closes an idle connection after 5 s, and a request sent on it
        as it closes fails with a reset (slow waits between requests are common here).
        """
        headers = {"Authorization": f"Bearer {token or self.token}", **kwargs.pop("headers", {})}
        limits = httpx.Limits(max_keepalive_connections=0)
        return httpx.Client(base_url=self.url, headers=headers, timeout=30, limits=limits, **kwargs)

    @property
    def engine(self) -> Engine:
        """Direct read access to the node's database, to check what is stored."""
        if self._engine is None:
            self._engine = make_engine(self.database.url)
        return self._engine

    def scalar(self, sql: str, **params: Any) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()

    def rows(self, sql: str, **params: Any) -> list[Any]:
        with self.engine.connect() as conn:
            return list(conn.execute(text(sql), params).all())

    def versions_of(self, stix_id: str) -> int:
        """How many versions of `stix_id` this node stores (every copy)."""
        return int(self.scalar("select count(*) from stix_objects where stix_id = :i", i=stix_id))

    def close(self) -> None:
        self.kill()
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


def token_env(peer_name: str) -> str:
    """The variable holding the token a node presents to `peer_name`."""
    return "MINGA_PEER_TOKEN_" + re.sub(r"[^A-Z0-9]", "_", peer_name.upper())


def _one(pattern: re.Pattern[str], output: str, problem: str) -> str:
    found = pattern.search(output)
    if found is None:
        raise NodeError(f"{problem}:\n{output}")
    return found.group(0)


# -- networks ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Spec:
    name: str
    org: str
    country: str
    backend: str = "sqlite"  # or "postgresql"


class Network:
    """Several nodes, initialised, peered pairwise over links, and running."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.nodes: dict[str, Node] = {}
        self.links: list[tuple[str, str]] = []

    def __getitem__(self, name: str) -> Node:
        return self.nodes[name]

    def add(self, spec: Spec, **env: str) -> Node:
        workdir = self.root / spec.name
        workdir.mkdir(parents=True, exist_ok=True)
        database = (
            Database.postgresql(spec.name)
            if spec.backend == "postgresql"
            else Database.sqlite(workdir)
        )
        node = Node(spec.name, workdir, database, spec.org, spec.country, env_extra=dict(env))
        self.nodes[spec.name] = node
        return node

    def link(self, links: list[tuple[str, str]], *, direction: str = "both") -> None:
        """Peer each pair both ways, as two operators do: each adds the other, and each puts
        the token the other printed into the variable its `--token-env` names."""
        pairs = [(a, b) for a, b in links] + [(b, a) for a, b in links]
        by_host: dict[str, list[str]] = {}
        for a, b in pairs:
            by_host.setdefault(a, []).append(b)

        def add_all(host: str) -> list[tuple[str, str, str]]:
            # One operator types one command after another on a node; nodes work in parallel.
            node = self.nodes[host]
            return [
                (host, b, node.add_peer(self.nodes[b], direction=direction)) for b in by_host[host]
            ]

        with ThreadPoolExecutor(4) as pool:  # each command is a Python start-up: overlap them
            involved = {name for pair in links for name in pair}
            list(pool.map(Node.fingerprint, [self.nodes[name] for name in sorted(involved)]))
            for added in pool.map(add_all, sorted(by_host)):
                for a, b, token in added:
                    self.nodes[b].env_extra[token_env(a)] = token  # b presents it to a
        self.links.extend(links)

    def neighbours(self, name: str) -> set[str]:
        return {b for a, b in self.links if a == name} | {a for a, b in self.links if b == name}

    def start(self, names: list[str] | None = None) -> None:
        chosen = [self.nodes[n] for n in names or list(self.nodes)]
        for node in chosen:
            node.start(wait=False)
        for node in chosen:
            node.wait_ready()

    def restart(self, names: list[str] | None = None) -> None:
        chosen = names or list(self.nodes)
        for name in chosen:
            self.nodes[name].stop()
        self.start(chosen)

    def close(self) -> None:
        for node in self.nodes.values():
            node.close()
        for node in self.nodes.values():
            node.database.drop()


@contextmanager
def network(
    root: Path, specs: list[Spec], links: list[tuple[str, str]], **env: str
) -> Iterator[Network]:
    """Nodes from `specs` initialised, started, peered over `links` and restarted with the
    peer tokens in their environment; everything removed afterwards."""
    net = Network(root)
    try:
        for spec in specs:
            net.add(spec, **env)
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(Node.init, net.nodes.values()))
        # `peer add` fetches each peer's signed identity from its running node; sync stays off
        # until the nodes have the peer tokens (`minga serve` reads them from its environment).
        for node in net.nodes.values():
            node.env_extra["MINGA_FEDERATION_SYNC_SECONDS"] = "0"
        net.start()
        net.link(links)
        for node in net.nodes.values():
            node.env_extra.pop("MINGA_FEDERATION_SYNC_SECONDS")
            node.env_extra.update(env)
        net.restart()
        yield net
    finally:
        net.close()


def publish(
    node: Node,
    obj: dict[str, Any],
    *,
    tlp: str | None = None,
    reach: str = "federation",
    groups: list[int] | None = None,
) -> dict[str, Any]:
    """POST one object to `node` as its operator admin; the answer (raises on a non-2xx)."""
    params: dict[str, Any] = {"reach": reach}
    if tlp:
        params["tlp"] = tlp
    if groups:
        params["group"] = groups
    with node.client() as c:
        answer = c.post("/api/objects", json=obj, params=params)
    if answer.status_code >= 300:
        raise NodeError(f"{node.name}: publish answered {answer.status_code}: {answer.text}")
    return dict(answer.json())


def indicator(label: str, n: int = 0) -> dict[str, Any]:
    """A fresh STIX 2.1 indicator (no creator, no marking: the node adds both)."""
    ts = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
    oid = uuid.uuid4()
    slug = re.sub(r"[^a-z0-9]+", "-", label.lower())
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--{oid}",
        "created": ts,
        "modified": ts,
        "name": f"{label} {n}",
        "pattern": f"[domain-name:value = '{slug}-{n}-{oid.hex[:8]}.example']",
        "pattern_type": "stix",
        "valid_from": ts,
    }


def _tree_cpu(pid: int) -> int:
    """Clock ticks of user + system time of `pid` and every live descendant."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = int(fields[11]) + int(fields[12])
        children: list[int] = []
        for task in Path(f"/proc/{pid}/task").iterdir():
            children += [int(c) for c in (task / "children").read_text().split()]
    except (OSError, ValueError):  # it exited meanwhile
        return 0
    return ticks + sum(_tree_cpu(child) for child in children)
