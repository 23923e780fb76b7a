"""Domain errors and bad requests become JSON 4xx answers with a sentence; never a stack trace."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from minga.errors import Conflict, Forbidden, InvalidInput, MingaError, NotFound, Unauthenticated

log = logging.getLogger("minga")

STATUS = {InvalidInput: 422, NotFound: 404, Forbidden: 403, Unauthenticated: 401, Conflict: 409}


def status_of(exc: MingaError) -> int:
    for cls, code in STATUS.items():
        if isinstance(exc, cls):
            return code
    return 400


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"error": code, "message": message}
    if details is not None:
        body["details"] = details
    return body


MACHINE_PATHS = ("/api/", "/taxii2/", "/federation/", "/.well-known/")


def _wants_page(request: Request) -> bool:
    """A browser asking for a page (not a client of the API, TAXII or federation)."""
    return (
        request.method == "GET"
        and "text/html" in request.headers.get("accept", "")
        and not request.url.path.startswith(MACHINE_PATHS)
        and hasattr(request.app.state, "web")
    )


def install(app: FastAPI) -> None:
    @app.exception_handler(MingaError)
    async def _domain(request: Request, exc: MingaError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthenticated) else None
        return JSONResponse(
            error_body(exc.code, exc.message, exc.details), status_of(exc), headers=headers
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            f"{'.'.join(str(p) for p in e.get('loc', ()) if p != 'body')}: {e.get('msg')}"
            for e in exc.errors()
        ]
        return JSONResponse(error_body("invalid", "; ".join(problems) or "invalid request"), 422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404 and _wants_page(request):
            # A mistyped address in the browser: the web UI's page, with its navigation.
            from minga.web.render import error_page_signed_in

            return await run_in_threadpool(error_page_signed_in, request, 404, "not_found")
        if exc.status_code == 405:  # AllowOn405 (minga.app) names the methods in `Allow`
            message = f"{request.method} is not allowed on {request.url.path}; see Allow"
            return JSONResponse(error_body("method_not_allowed", message), 405)
        return JSONResponse(
            error_body("http", str(exc.detail)), exc.status_code, headers=exc.headers
        )

    @app.exception_handler(OperationalError)
    async def _busy(request: Request, exc: OperationalError) -> JSONResponse:
        # SQLite has one writer: a write that loses the race is told to retry, not a 500.
        log.warning("database unavailable on %s: %s", request.url.path, exc.orig)
        return JSONResponse(
            error_body("unavailable", "the database is busy or unreachable; retry shortly"),
            503,
            headers={"Retry-After": "1"},
        )

    @app.exception_handler(IntegrityError)
    async def _race(request: Request, exc: IntegrityError) -> JSONResponse:
        # Two writers stored the same thing at once; the loser's transaction was rolled back.
        log.warning("integrity conflict on %s: %s", request.url.path, exc.orig)
        return JSONResponse(
            error_body("conflict", "a concurrent write changed the same data; retry"), 409
        )

    @app.exception_handler(DataError)
    @app.exception_handler(OverflowError)
    async def _out_of_range(request: Request, exc: Exception) -> JSONResponse:
        # A number too large for a BIGINT column (PostgreSQL: DataError, SQLite: OverflowError)
        # that no check before the query caught: still the caller's input, not a node failure.
        log.warning("value out of range on %s: %s", request.url.path, exc)
        message = "a value in the request is out of range; check numbers and cursors"
        return JSONResponse(error_body("invalid", message), 422)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return JSONResponse(error_body("internal", "the node hit an unexpected error"), 500)


class ErrorOut(BaseModel):
    """Every REST error answer (documented on every operation by `minga.api.routes`)."""

    error: str = Field(description="a short code: invalid, not_found, forbidden, ...")
    message: str = Field(description="one sentence saying what was wrong")
    details: Any = Field(default=None, description="what exactly, when there is more to say")
