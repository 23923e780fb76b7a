"""Reads of the hot paths (TAXII objects and object, REST get-by-id): the caller's token and the
read share one pooled connection of the node's engine. On PostgreSQL that connection reads in
autocommit (no BEGIN and ROLLBACK round trips); on SQLite both run on the event loop's own
connections and take none."""

from __future__ import annotations

import traceback
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session, sessionmaker

from minga.intel import service
from minga.policy import Tlp
from tests.conftest import add_member
from tests.factories import indicator
from tests.taxii.conftest import OBJECTS, taxii_headers

REQUESTS = "minga/api/deps.py"  # where a request's reads and token checks take connections


@pytest.fixture
def watched(engine: Engine) -> Any:
    """Per request: pooled connections taken, and whether each statement ran in autocommit."""
    seen: dict[str, list[Any]] = {"checkouts": [], "autocommit": []}

    def checkout(*_: Any) -> None:
        # The node's background loops take connections too: only the request's own count.
        if any(f.filename.endswith(REQUESTS) for f in traceback.extract_stack()):
            seen["checkouts"].append(1)

    def before(conn: Any, *_: Any) -> None:
        if any(f.filename.endswith(REQUESTS) for f in traceback.extract_stack()):
            seen["autocommit"].append(getattr(conn.connection.dbapi_connection, "autocommit", None))

    event.listen(engine, "checkout", checkout)
    event.listen(engine, "before_cursor_execute", before)
    yield seen
    event.remove(engine, "checkout", checkout)
    event.remove(engine, "before_cursor_execute", before)


def test_a_read_takes_one_connection(
    client: TestClient, sessions: sessionmaker[Session], engine: Engine, watched: Any
) -> None:
    owner = add_member(sessions, "Org A")
    reader = add_member(sessions, "Org B")
    with sessions() as s:
        service.create_objects(s, owner.principal, [indicator(1)], tlp=Tlp.GREEN)
        s.commit()
    sid = indicator(1)["id"]
    reads = [
        (f"{OBJECTS}{sid}/", taxii_headers(reader.token)),
        (OBJECTS, taxii_headers(reader.token)),
        (f"{OBJECTS}{sid}/versions/", taxii_headers(reader.token)),
        (f"/api/objects/{sid}", reader.headers),
    ]
    postgresql = engine.dialect.name == "postgresql"
    for url, headers in reads:
        watched["checkouts"].clear()
        watched["autocommit"].clear()
        r = client.get(url, headers=headers)
        assert r.status_code == 200, (url, r.text)
        assert indicator(1)["modified"] in r.text
        # The token's check and the read: one connection on PostgreSQL (there were two), none of
        # the node's pool on SQLite (the event loop's own connections serve both).
        assert len(watched["checkouts"]) == (1 if postgresql else 0), url
        if postgresql:
            assert watched["autocommit"] and all(a is True for a in watched["autocommit"]), url
    watched["checkouts"].clear()
    r = client.get(f"{OBJECTS}{sid}/", headers=taxii_headers("mg_000000000000_nope"))
    assert r.status_code == 401
    assert len(watched["checkouts"]) <= 1
