"""`create_app(settings)`: the node's ASGI application, built explicitly (nothing at import)."""

from __future__ import annotations

import logging
import re
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
from minga.db import engine_for, make_sessionmaker
from minga.ops.metrics import RequestMetrics
from minga.settings import Settings

log = logging.getLogger("minga")


@dataclass
class Node:
    """What every request handler needs, kept on `app.state.node`."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    verifier: TokenVerifier


class AllowOn405:
    """Every 405 answer names all the methods its path takes in `Allow` (RFC 9110 15.5.6).

    The router alone names only the first route it tried (`GET /api/objects` and
    `POST /api/objects` are two routes), and the TAXII fallback names none."""

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

        async def send_with_allow(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 405:
                methods = self.allowed(scope["app"], scope["path"])
                if methods:
                    MutableHeaders(scope=message)["Allow"] = ", ".join(methods)
            await send(message)

        await self.app(scope, receive, send_with_allow)


class ContainUnexpected:
    """An unexpected error is logged and answered with a JSON 500, and goes no further.

    Starlette's outermost middleware answers the 500 but then re-raises, and uvicorn closes the
    connection of any request whose application raised: the client's next request on that
    keep-alive connection failed with a reset."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception:
            if started:  # half an answer is out: only closing the connection can say so
                raise
            log.exception("unexpected error on %s %s", scope["method"], scope["path"])
            body = {"error": "internal", "message": "the node hit an unexpected error"}
            await JSONResponse(body, 500)(scope, receive, send)


def create_app(settings: Settings, *, engine: Engine | None = None) -> FastAPI:
    from minga.api import errors, routes

    engine = engine or engine_for(settings)
    node = Node(
        settings=settings,
        engine=engine,
        sessions=make_sessionmaker(engine),
        verifier=TokenVerifier(settings.token_cache_seconds),
    )
    # /docs serves Swagger UI from the package, not a CDN: CSIRT networks are often closed.
    app = FastAPIOffline(
        title="Minga node",
        version=__version__,
        description="Threat-intelligence sharing for CSIRTs and ISACs: STIX 2.1, TLP 2.0, reach.",
    )
    app.state.node = node
    app.add_middleware(AllowOn405)
    app.add_middleware(ContainUnexpected)
    app.add_middleware(RequestMetrics)  # outermost: counts every answer, 500s included
    errors.install(app)
    routes.install(app)
    return app
