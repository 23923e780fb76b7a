"""A node with an operator organisation, the fixtures' paths and a local HTTP server."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from minga.accounts.node import set_operator_org
from tests.conftest import Member, add_member

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def operator(sessions: sessionmaker[Session]) -> Member:
    """The organisation running the node (it owns the reference knowledge)."""
    member = add_member(sessions, "Node operator", role="admin")
    with sessions() as s:
        set_operator_org(s, member.org_id)
        s.commit()
    return member


@pytest.fixture
def served() -> Iterator[str]:
    """The fixtures over HTTP on 127.0.0.1 (never the internet)."""
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(FIXTURES))
    handler.log_message = lambda *a: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
