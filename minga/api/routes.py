"""Mounts every HTTP adapter on the app, and documents the error answers of every operation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from minga import __version__, web
from minga.advisories import views as advisories_views
from minga.api import accounts, ingest, objects
from minga.api.errors import ErrorOut
from minga.assessments import views as assessment_views
from minga.correlate import feed_views, sighting_views
from minga.correlate import views as correlate_views
from minga.events import notify_views
from minga.events import views as events_views
from minga.exercises import views as exercise_views
from minga.federation import receipt_views
from minga.federation import sync as federation_sync
from minga.federation import views as federation_views
from minga.incidents import views as incident_views
from minga.ops import views as ops_views
from minga.sensor import alert_views as sensor_alert_views
from minga.taxii import routes as taxii_routes

# Any operation may answer these (validation, authentication, policy, a stored-data conflict,
# size limits, a busy database); documenting them once keeps the OpenAPI document honest.
REST_ERRORS = {
    400: "The request is malformed.",
    401: "No valid API token was sent.",
    403: "The caller may not do this.",
    404: "No such thing, or none the caller may see.",
    409: "The request conflicts with stored data (or a concurrent write: retry).",
    413: "The body is larger than this node accepts.",
    422: "A parameter or the body is invalid; the message says which and why.",
    429: "Too many requests; retry later.",
    503: "The database is busy or unreachable; retry shortly (see Retry-After).",
}
# TAXII answers with its own error resource and media type; a malformed request is a 400 there.
TAXII_ERRORS = {
    **{code: text for code, text in REST_ERRORS.items() if code != 422},
    406: "The Accept header names no TAXII 2.1 media type.",
    415: "The body is not sent as application/taxii+json;version=2.1.",
}
TAXII_MEDIA = "application/taxii+json;version=2.1"
TAXII_ERROR_SCHEMA = {
    "type": "object",
    "title": "TaxiiError",
    "required": ["title"],
    "properties": {
        "title": {"type": "string"},
        "description": {"type": "string"},
        "http_status": {"type": "string"},
        "details": {},
    },
}


def install(app: FastAPI) -> None:
    # FastAPI tries the routes in this order, one by one, for every request (369 of them): the
    # busiest paths, each under its own prefix, go first. /api/health after every router cost
    # 0.5 ms of CPU per call; a TAXII request tried the 33 REST routes before its own.

    @app.get("/api/health", tags=["node"])
    def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    app.include_router(taxii_routes.router)
    app.include_router(objects.router)
    app.include_router(accounts.router)
    app.include_router(ingest.router)
    app.include_router(federation_sync.router)
    app.include_router(federation_views.router)
    app.include_router(receipt_views.router)
    app.include_router(assessment_views.router)
    app.include_router(advisories_views.router)
    app.include_router(incident_views.router)
    app.include_router(exercise_views.router)
    app.include_router(ops_views.router)
    app.include_router(sighting_views.router)
    app.include_router(correlate_views.router)
    app.include_router(feed_views.router)
    app.include_router(sensor_alert_views.router)
    app.include_router(notify_views.router)
    app.include_router(events_views.router)
    web.install(app)
    app.openapi = documented(app, app.openapi)  # type: ignore[method-assign]


def documented(app: FastAPI, build: Callable[[], dict[str, Any]]) -> Callable[[], dict[str, Any]]:
    """`app.openapi` with the error answers of every operation added (built once)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = add_error_responses(build())
        return app.openapi_schema

    return openapi


def _schema_of(response: dict[str, Any]) -> dict[str, Any]:
    schemas = [media.get("schema") or {} for media in response.get("content", {}).values()]
    return next((s for s in schemas if s), {})


def _is_fastapi_validation(response: dict[str, Any]) -> bool:
    return str(_schema_of(response).get("$ref", "")).endswith("/HTTPValidationError")


def add_error_responses(schema: dict[str, Any]) -> dict[str, Any]:
    schemas = schema.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = ErrorOut.model_json_schema()
    schemas["TaxiiError"] = TAXII_ERROR_SCHEMA
    rest = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    taxii = {TAXII_MEDIA: {"schema": {"$ref": "#/components/schemas/TaxiiError"}}}
    for path, operations in schema.get("paths", {}).items():
        is_taxii = path.startswith("/taxii2/")
        errors, content = (TAXII_ERRORS, taxii) if is_taxii else (REST_ERRORS, rest)
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            # FastAPI's default 422 describes a body our handlers never send.
            for code, response in list(responses.items()):
                if _is_fastapi_validation(response):
                    del responses[code]
            for code, description in errors.items():
                response = responses.setdefault(str(code), {"description": description})
                # A route may describe its own 422/503 (ingest does); the body is still an error.
                if not _schema_of(response):
                    response["content"] = content
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    return schema
