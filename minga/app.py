"""`create_app(settings)`: the node's ASGI application, built explicitly (nothing at import)."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from minga import __version__
from minga.accounts.tokens import TokenVerifier
from minga.db import make_engine, make_sessionmaker
from minga.settings import Settings


@dataclass
class Node:
    """What every request handler needs, kept on `app.state.node`."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    verifier: TokenVerifier


def create_app(settings: Settings, *, engine: Engine | None = None) -> FastAPI:
    from minga.api import errors, routes

    engine = engine or make_engine(settings.database_url)
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
    errors.install(app)
    routes.install(app)
    return app
