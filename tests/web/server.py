"""A real node (uvicorn on 127.0.0.1, random port) on a temp SQLite database with the demo data."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from minga.app import create_app
from minga.db import make_engine, make_sessionmaker, unit_of_work
from minga.demo.loader import load
from minga.migrate import upgrade
from minga.settings import Settings

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass
class DemoNode:
    url: str
    db_url: str
    tokens: dict[str, str]  # user name -> API token


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def demo_node(directory: Path) -> Iterator[DemoNode]:
    db_url = f"sqlite:///{directory / 'minga.db'}"
    engine = make_engine(db_url)
    upgrade(engine)
    with unit_of_work(make_sessionmaker(engine)) as session:
        result = load(session)
    port = _free_port()
    settings = Settings(database_url=db_url, port=port, log_level="warning")
    app = create_app(settings, engine=engine)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test node did not start")
        time.sleep(0.05)
    try:
        yield DemoNode(f"http://127.0.0.1:{port}", db_url, {u: t for _, u, t in result.tokens})
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        engine.dispose()
