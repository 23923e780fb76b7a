"""TAXII fixtures: a live node on 127.0.0.1 (uvicorn in a thread) and TAXII request helpers."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from minga.app import create_app
from minga.settings import Settings
from minga.taxii.models import DEFAULT_COLLECTION_ID

TAXII = "application/taxii+json;version=2.1"
ROOT = "/taxii2/api/"
OBJECTS = f"{ROOT}collections/{DEFAULT_COLLECTION_ID}/objects/"


@pytest.fixture(autouse=True)
def _no_background_pulls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MINGA_TAXII_PULL_CHECK_SECONDS", "0")


def taxii_headers(token: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Accept": TAXII, **extra}


def post_envelope(client: TestClient, token: str, objects: list[Any], url: str = OBJECTS) -> Any:
    return client.post(
        url,
        content=orjson.dumps({"objects": objects}),
        headers=taxii_headers(token, **{"Content-Type": TAXII}),
    )


class LiveNode:
    """A node served by uvicorn on a random loopback port."""

    def __init__(self, settings: Settings, engine: Engine) -> None:
        app = create_app(settings, engine=engine)
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test node did not start")
            time.sleep(0.02)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)


@pytest.fixture
def live(settings: Settings, engine: Engine) -> Iterator[str]:
    with LiveNode(settings, engine) as url:
        yield url
