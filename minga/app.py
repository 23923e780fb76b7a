"""`create_app(settings)`: the node's ASGI application, built explicitly (nothing at import)."""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass

from fastapi import FastAPI, routing
from fastapi_offline import FastAPIOffline
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from starlette.datastructures import MutableHeaders
from starlette.responses import JSONResponse
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from minga import __version__
from minga.accounts.tokens import TokenVerifier
from minga.db import engine_for, make_engine, make_sessionmaker, pool_size, sqlite_cache_mb
from minga.ops.metrics import observe
from minga.settings import Settings

log = logging.getLogger("minga")


@dataclass
class Node:
    """What every request handler needs, kept on `app.state.node`."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    verifier: TokenVerifier
    # SQLite in a file: sessions for short reads run on the event loop (`minga.api.deps.read`),
    # on an engine of their own. None elsewhere: reads go to the thread pool.
    loop_sessions: sessionmaker[Session] | None = None
    # PostgreSQL: sessions for those reads in the thread pool, in autocommit, so that a read
    # costs its queries' round trips only (no BEGIN before them, no ROLLBACK after). Each
    # query sees what is committed when it runs, as each SELECT of a SQLite read does.
    read_sessions: sessionmaker[Session] | None = None


def loop_engine(settings: Settings, engine: Engine) -> Engine | None:
    """One connection for the reads the event loop runs itself: it runs one at a time, start
    to end without awaiting, so it never waits for a connection (which would stall the loop
    that gives the others back). Its page cache is one pooled connection's share."""
    url = engine.url
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    rendered = url.render_as_string(hide_password=False)
    share = sqlite_cache_mb(settings.sqlite_cache_mb) // pool_size(rendered, settings.db_pool_size)
    return make_engine(rendered, pool=1, cache_mb=max(1, share))


class Edge:
    """The one ASGI middleware at the node's edge; per HTTP request it

    - counts and times the answer by route template, method and status (`minga.ops.metrics`),
      500s included, and before the last byte goes out (a client that has its answer and
      scrapes next finds the request counted);
    - names in `Allow` every method a 405's path takes (RFC 9110 15.5.6): the router alone
      names only the first route it tried (`GET /api/objects` and `POST /api/objects` are two
      routes), and the TAXII fallback names none;
    - answers an unexpected error with a JSON 500 and lets it go no further. Starlette's
      outermost middleware answers the 500 but then re-raises, and uvicorn closes the
      connection of any request whose application raised: the client's next request on that
      keep-alive connection failed with a reset.

    One layer instead of three: each layer wraps `send` again for every request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._routes: list[tuple[re.Pattern[str], frozenset[str]]] | None = None

    def allowed(self, app: FastAPI, path: str) -> list[str]:
        if self._routes is None:
            self._routes = [
                (compile_path(ctx.path)[0], frozenset(methods))
                for ctx in routing.iter_route_contexts(app.routes)
                if (methods := getattr(ctx.original_route, "methods", None))
                and ctx.path
                and ":path}" not in ctx.path  # a catch-all answers 405 itself; it allows nothing
            ]
        return sorted({m for regex, methods in self._routes if regex.match(path) for m in methods})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 0  # no answer started yet
        recorded = False

        async def edge_send(message: Message) -> None:
            nonlocal status, recorded
            kind = message["type"]
            if kind == "http.response.start":
                status = message["status"]
                if status == 405:
                    methods = self.allowed(scope["app"], scope["path"])
                    if methods:
                        MutableHeaders(scope=message)["Allow"] = ", ".join(methods)
            elif kind == "http.response.body" and not message.get("more_body") and not recorded:
                recorded = True
                observe(scope, status, time.perf_counter() - started)
            await send(message)

        try:
            await self.app(scope, receive, edge_send)
        except Exception:
            if status:  # half an answer is out: only closing the connection can say so
                raise
            log.exception("unexpected error on %s %s", scope["method"], scope["path"])
            body = {"error": "internal", "message": "the node hit an unexpected error"}
            await JSONResponse(body, 500)(scope, receive, edge_send)
        finally:
            if not recorded:  # an answer that never finished (an error, a closed connection)
                recorded = True
                observe(scope, status or 500, time.perf_counter() - started)


def create_app(settings: Settings, *, engine: Engine | None = None) -> FastAPI:
    from minga.api import errors, routes

    engine = engine or engine_for(settings)
    on_loop = loop_engine(settings, engine)
    node = Node(
        settings=settings,
        engine=engine,
        sessions=make_sessionmaker(engine),
        verifier=TokenVerifier(settings.token_cache_seconds, side=on_loop),
        loop_sessions=make_sessionmaker(on_loop) if on_loop is not None else None,
        read_sessions=(
            make_sessionmaker(engine.execution_options(isolation_level="AUTOCOMMIT"))
            if engine.dialect.name == "postgresql"
            else None
        ),
    )
    # /docs serves Swagger UI from the package, not a CDN: CSIRT networks are often closed.
    app = FastAPIOffline(
        title="Minga node",
        version=__version__,
        description="Threat-intelligence sharing for CSIRTs and ISACs: STIX 2.1, TLP 2.0, reach.",
    )
    app.state.node = node
    app.add_middleware(Edge)  # metrics, Allow on 405, unexpected errors contained
    errors.install(app)
    routes.install(app)
    return app
