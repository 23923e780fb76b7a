"""Mounts every HTTP adapter on the app."""

from __future__ import annotations

from fastapi import FastAPI

from minga import __version__, web
from minga.api import accounts, ingest, objects
from minga.taxii import routes as taxii_routes


def install(app: FastAPI) -> None:
    app.include_router(objects.router)
    app.include_router(accounts.router)
    app.include_router(ingest.router)
    app.include_router(taxii_routes.router)
    web.install(app)

    @app.get("/api/health", tags=["node"])
    def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}
