"""The node's request path: the one Edge middleware (metrics, Allow on 405, contained errors),
reads that run on the event loop on SQLite, and the uvicorn options of `minga serve`."""

from __future__ import annotations

import asyncio
import importlib.util
import threading

from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from minga.accounts.models import Organisation
from minga.api.deps import read
from minga.app import create_app
from minga.serve import _uvicorn_options
from minga.settings import Settings
from tests.conftest import add_member

ROUTE = "/test/edge-boom"


def _count(route: str, method: str, status: str) -> float:
    labels = {"route": route, "method": method, "status": status}
    return REGISTRY.get_sample_value("minga_http_requests_total", labels) or 0.0


def test_an_unexpected_error_is_a_json_500_counted_once_and_the_connection_lives(
    settings: Settings, engine: Engine
):
    app = create_app(settings, engine=engine)

    @app.get(ROUTE)
    async def boom() -> None:
        raise RuntimeError("a bug")

    before = _count(ROUTE, "GET", "500")
    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.get(ROUTE)
        assert r.status_code == 500
        assert r.json() == {"error": "internal", "message": "the node hit an unexpected error"}
        assert client.get("/api/health").status_code == 200  # the app did not raise past Edge
    assert _count(ROUTE, "GET", "500") - before == 1


def test_a_405_names_every_method_of_its_path_and_is_counted(settings: Settings, engine: Engine):
    before = _count("/api/objects", "PUT", "405")
    with TestClient(create_app(settings, engine=engine)) as client:
        r = client.put("/api/objects")
    assert r.status_code == 405
    assert r.headers["allow"] == "GET, POST"
    assert _count("/api/objects", "PUT", "405") - before == 1


def test_reads_run_on_the_event_loop_on_sqlite_and_in_a_thread_elsewhere(
    settings: Settings, engine: Engine, sessions: sessionmaker[Session]
):
    add_member(sessions, "Org Read")  # committed by another connection: the read sees it
    node = create_app(settings, engine=engine).state.node
    seen: list[int] = []

    def work(session: Session) -> int:
        seen.append(threading.get_ident())
        return int(session.scalar(select(func.count()).select_from(Organisation)) or 0)

    assert asyncio.run(read(node, work)) >= 1
    on_loop = engine.dialect.name == "sqlite"
    assert (node.loop_sessions is not None) is on_loop
    assert (seen == [threading.get_ident()]) is on_loop


def test_taxii_and_rest_reads_answer_through_the_loop_path(client: TestClient, sessions):
    member = add_member(sessions, "Org Loop")
    auth = {"Authorization": f"Bearer {member.token}"}
    taxii = {**auth, "Accept": "application/taxii+json;version=2.1"}
    collections = client.get("/taxii2/api/collections/", headers=taxii)
    assert collections.status_code == 200
    first = collections.json()["collections"][0]["id"]
    assert client.get(f"/taxii2/api/collections/{first}/", headers=taxii).status_code == 200
    missing = client.get(f"/taxii2/api/collections/{first}/objects/indicator--nope/", headers=taxii)
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/taxii+json;version=2.1"
    refused = client.get("/taxii2/api/collections/", headers={"Authorization": "Bearer mg_x"})
    assert refused.status_code == 401
    assert client.get("/api/objects/indicator--nope", headers=auth).status_code == 404
    assert client.get("/api/objects/indicator--nope").status_code == 401


def test_serve_logs_each_request_only_at_info_or_debug_and_uses_the_fast_parser(
    settings: Settings,
):
    quiet = _uvicorn_options(settings.model_copy(update={"log_level": "warning"}))
    assert quiet["access_log"] is False
    assert _uvicorn_options(settings.model_copy(update={"log_level": "info"}))["access_log"]
    fast = importlib.util.find_spec("httptools") is not None
    assert quiet["http"] == ("httptools" if fast else "h11")
