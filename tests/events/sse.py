"""A real node serving the fixture database (uvicorn in a thread), and an SSE reader for it."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import uvicorn
from sqlalchemy import Engine

from minga.app import create_app
from minga.settings import Settings


@dataclass
class Live:
    url: str
    app: Any


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def live_node(settings: Settings, engine: Engine, **changes: Any) -> Iterator[Live]:
    """The node on a random port; streams poll often so other sessions' commits show soon."""
    settings = settings.model_copy(update={"stream_poll_seconds": 0.05, **changes})
    app = create_app(settings, engine=engine)
    port = _free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test node did not start")
        time.sleep(0.02)
    try:
        yield Live(f"http://127.0.0.1:{port}", app)
    finally:
        server.should_exit = True
        thread.join(10)


@dataclass
class Msg:
    id: int | None
    event: str
    data: dict[str, Any]


class Reader:
    """One open SSE stream; `until` reads messages up to one that matches."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.lines = response.iter_lines()

    def next(self) -> Msg | None:
        """The next message (None for a comment block such as a keep-alive)."""
        fields: dict[str, str] = {}
        comment = False
        for line in self.lines:
            if line == "":
                if fields:
                    seq = fields.get("id")
                    data = orjson.loads(fields["data"]) if "data" in fields else {}
                    return Msg(int(seq) if seq else None, fields.get("event", "message"), data)
                if comment:
                    return None
                continue
            if line.startswith(":"):
                comment = True
                continue
            name, _, value = line.partition(":")
            if name == "retry":  # the reconnection delay, not a message
                comment = True
                continue
            fields[name] = value.removeprefix(" ")
        raise EOFError("the stream ended")

    def until(self, stop: Any) -> list[Msg]:
        """Messages up to and including the first for which `stop(msg)` is true."""
        found: list[Msg] = []
        while True:
            msg = self.next()
            if msg is None:
                continue
            found.append(msg)
            if stop(msg):
                return found


@contextmanager
def reading(
    url: str, *, headers: dict[str, str] | None = None, params: Any = None
) -> Iterator[Reader]:
    """Open a stream and wait until the server has placed the reader (its first comment)."""
    timeout = httpx.Timeout(20.0)
    with (
        httpx.Client(timeout=timeout) as client,
        client.stream("GET", url, headers=headers, params=params) as response,
    ):
        assert response.status_code == 200, response.read()
        reader = Reader(response)
        assert reader.next() is None  # ": connected": the reader's start is fixed
        yield reader
