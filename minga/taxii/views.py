"""The TAXII 2.1 HTTP adapter, mounted at `/taxii2/`: discovery, API root, collections, objects,
versions, manifest and status. Every answer, errors included, has the TAXII media type.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

import orjson
from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.routing import Match

from minga.api.deps import CurrentPrincipal, NodeDep, RequestPrincipal, SessionDep, read, read_as
from minga.errors import Conflict, Forbidden, InvalidInput, MingaError, NotFound, Unauthenticated
from minga.federation import exchange
from minga.intel.service import Page, StoredObject
from minga.intel.stix import MAX_DEPTH, too_deep, us_to_ts
from minga.policy import Principal, Role
from minga.taxii import service
from minga.taxii.models import Collection
from minga.taxii.params import Params, parse_params

log = logging.getLogger("minga.taxii")

TAXII = "application/taxii+json;version=2.1"
STIX = "application/stix+json;version=2.1"
MAX_CONTENT_LENGTH = 32 * 1024 * 1024
DEFAULT_LIMIT = 100
STATUS = {InvalidInput: 400, Unauthenticated: 401, Forbidden: 403, NotFound: 404, Conflict: 409}
TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    409: "Conflict",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def taxii_response(
    body: bytes, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(content=body, status_code=status, media_type=TAXII, headers=headers)


def error(
    status: int, description: str, details: Any = None, headers: dict[str, str] | None = None
) -> Response:
    body: dict[str, Any] = {
        "title": TITLES.get(status, "Error"),
        "description": description,
        "http_status": str(status),
    }
    if details is not None:
        body["details"] = details
    if status == 401:
        headers = {**(headers or {}), "WWW-Authenticate": 'Basic realm="minga", Bearer'}
    return taxii_response(orjson.dumps(body), status, headers)


def _media(value: str) -> tuple[str, dict[str, str]]:
    media, *params = (p.strip() for p in value.split(";"))
    options = {}
    for p in params:
        key, _, val = p.partition("=")
        options[key.strip().lower()] = val.strip().strip('"')
    return media.lower(), options


def is_taxii21(value: str) -> bool:
    """`application/taxii+json` with version 2.1 or no version (which means 2.1)."""
    media, options = _media(value)
    return media == "application/taxii+json" and options.get("version", "2.1") == "2.1"


def acceptable(accept: str | None) -> bool:
    if not accept:
        return True
    for part in accept.split(","):
        media, options = _media(part)
        if options.get("q", "1") in ("0", "0.0", "0.00", "0.000"):
            continue
        if media in ("*/*", "application/*") or is_taxii21(part):
            return True
    return False


class TaxiiRoute(APIRoute):
    """Turns every failure, including authentication and validation, into a TAXII error."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def taxii_handler(request: Request) -> Response:
            if not acceptable(request.headers.get("accept")):
                return error(406, f"this server answers only {TAXII}")
            try:
                return await handler(request)
            except MingaError as exc:
                code = next((c for k, c in STATUS.items() if isinstance(exc, k)), 400)
                return error(code, exc.message, exc.details)
            except RequestValidationError as exc:
                problems = "; ".join(str(e.get("msg")) for e in exc.errors())
                return error(400, problems or "the request is malformed")
            except HTTPException as exc:
                return error(exc.status_code, str(exc.detail))
            except OperationalError as exc:
                # As on REST: SQLite's one writer was busy (or the database is gone); retry.
                log.warning("database unavailable on %s: %s", request.url.path, exc.orig)
                busy = "the database is busy or unreachable; retry shortly"
                return error(503, busy, headers={"Retry-After": "1"})
            except IntegrityError as exc:
                log.warning("integrity conflict on %s: %s", request.url.path, exc.orig)
                return error(409, "a concurrent write changed the same data; retry")
            except Exception:
                log.exception("unexpected TAXII error on %s %s", request.method, request.url.path)
                return error(500, "the node hit an unexpected error")

        return taxii_handler


router = APIRouter(prefix="/taxii2", route_class=TaxiiRoute, tags=["taxii"])


def _args(request: Request) -> dict[str, list[str]]:
    args: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        args.setdefault(key, []).append(value)
    return args


def _params(request: Request, node: Any) -> Params:
    return parse_params(
        _args(request), default_limit=DEFAULT_LIMIT, max_limit=node.settings.page_size_max
    )


def _added_headers(items: list[StoredObject]) -> dict[str, str]:
    if not items:
        return {}
    return {
        "X-TAXII-Date-Added-First": items[0].date_added,
        "X-TAXII-Date-Added-Last": items[-1].date_added,
    }


def _paged(found: Page, key: bytes, render: Callable[[StoredObject], bytes]) -> Response:
    """`{"more", "next", key: [...]}`, or `{}` when nothing matched; bytes built directly."""
    if not found.items:
        return taxii_response(b"{}")
    if found.next_cursor is not None:
        head = b'{"more":true,"next":' + orjson.dumps(found.next_cursor) + b","
    else:
        head = b'{"more":false,'
    body = head + b'"' + key + b'":[' + b",".join(render(i) for i in found.items) + b"]}"
    return taxii_response(body, headers=_added_headers(found.items))


def _raw(item: StoredObject) -> bytes:
    return item.raw.encode()


def _manifest_entry(item: StoredObject) -> bytes:
    return orjson.dumps(
        {
            "id": item.stix_id,
            "date_added": item.date_added,
            "version": service.version_label(item),
            "media_type": STIX,
        }
    )


def _collection_json(collection: Collection, principal: Principal) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": collection.id,
        "title": collection.title,
        "description": collection.description,
        "can_read": collection.can_read,
        "can_write": service.may_write(principal, collection),
        "media_types": [STIX],
    }
    if collection.alias:
        out["alias"] = collection.alias
    return out


def _readable(session: Session, ref: str) -> Collection:
    return service.read_collection(session, ref)


@router.get("/", summary="TAXII discovery")
async def discovery(request: Request, principal: RequestPrincipal, node: NodeDep) -> Response:
    root = str(request.url_for("taxii_api_root"))
    body = {
        "title": f"Minga node {node.settings.node_name}",
        "description": "TAXII 2.1 over this node's shared intelligence.",
        "default": root,
        "api_roots": [root],
    }
    return taxii_response(orjson.dumps(body))


@router.get("/api/", name="taxii_api_root", summary="TAXII API root")
async def api_root(principal: RequestPrincipal, node: NodeDep) -> Response:
    body = {
        "title": f"{node.settings.node_name} intelligence",
        "description": "Collections are views over the objects you may see.",
        "versions": [TAXII],
        "max_content_length": MAX_CONTENT_LENGTH,
    }
    return taxii_response(orjson.dumps(body))


# The read views are async: their reads are short and indexed, and `read` runs them on the
# event loop on SQLite (in a thread on PostgreSQL), which saves each request a thread hop.


@router.get("/api/status/{status_id}/", summary="Status of an add-objects request")
async def status(status_id: str, principal: RequestPrincipal, node: NodeDep) -> Response:
    def answer(session: Session) -> Response:
        found = service.get_status(session, principal, status_id)
        return taxii_response(orjson.dumps(service.status_json(found)))

    return await read(node, answer)


@router.get("/api/collections/", summary="Collections")
async def collections(principal: RequestPrincipal, node: NodeDep) -> Response:
    def answer(session: Session) -> Response:
        found = [_collection_json(c, principal) for c in service.list_collections(session)]
        return taxii_response(orjson.dumps({"collections": found} if found else {}))

    return await read(node, answer)


@router.get("/api/collections/{collection_id}/", summary="One collection")
async def collection(collection_id: str, principal: RequestPrincipal, node: NodeDep) -> Response:
    def answer(session: Session) -> Response:
        found = _readable(session, collection_id)
        return taxii_response(orjson.dumps(_collection_json(found, principal)))

    return await read(node, answer)


@router.get("/api/collections/{collection_id}/objects/", summary="Objects, oldest added first")
async def get_objects(collection_id: str, request: Request, node: NodeDep) -> Response:
    def answer(session: Session, principal: Principal) -> Response:
        found = _readable(session, collection_id)
        params = _params(request, node)
        return _paged(service.page(session, principal, found, params), b"objects", _raw)

    def for_peer(session: Session, principal: Principal) -> Response:
        found = _readable(session, collection_id)
        peer = exchange.peer_reading(session, principal, found)
        if peer is None:
            return answer(session, principal)
        params = _params(request, node)
        served = exchange.serve_page(
            session, node.settings, peer, after_us=params.added_after_us, limit=params.limit
        )
        return _served(served)

    def either(session: Session, principal: Principal) -> Response:
        return (for_peer if principal.role is Role.MACHINE else answer)(session, principal)

    # A person's (or a client's) page is a short read; a peer node pulling (a machine account)
    # gets what the policy lets it receive: a longer read, always in a thread.
    return await read_as(request, node, either, long=lambda p: p.role is Role.MACHINE)


def _served(served: exchange.ServedPage) -> Response:
    """A page for a peer node; Date-Added-Last is the position it covers (versions the peer
    may not receive were passed over), so the peer resumes after it."""
    headers = {"X-TAXII-Date-Added-Last": us_to_ts(served.last_us)} if served.last_us else {}
    if not served.objects and not served.more:
        return taxii_response(b"{}", headers=headers)
    body = {"more": served.more, "objects": served.objects}
    return taxii_response(orjson.dumps(body), headers=headers)


@router.post(
    "/api/collections/{collection_id}/objects/",
    summary="Add objects (202 + status)",
    status_code=202,
)
async def add_objects(
    collection_id: str,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    node: NodeDep,
) -> Response:
    content_type = request.headers.get("content-type", "")
    if not is_taxii21(content_type):
        return error(415, f"send the envelope as Content-Type: {TAXII}")
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_CONTENT_LENGTH:
        return error(413, f"the body is larger than {MAX_CONTENT_LENGTH} bytes")
    body = await request.body()
    if len(body) > MAX_CONTENT_LENGTH:
        return error(413, f"the body is larger than {MAX_CONTENT_LENGTH} bytes")
    try:
        envelope = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"the body is not valid JSON: {exc}") from None
    # orjson stops at 1,024 levels without recursing in Python; refuse deep bodies here,
    # before anything that walks the objects recursively (envelope + object + MAX_DEPTH).
    if too_deep(envelope, MAX_DEPTH + 2):
        raise InvalidInput(f"the body nests JSON more than {MAX_DEPTH} levels deep")
    items = envelope.get("objects") if isinstance(envelope, dict) else None
    if isinstance(items, list) and len(items) > node.settings.bulk_max_objects:
        raise InvalidInput(f"at most {node.settings.bulk_max_objects} objects per request")

    def store() -> bytes:
        found = _readable(session, collection_id)
        peer = exchange.peer_reading(session, principal, found)
        if peer is not None:  # a peer node pushing: verified, stored with their provenance
            added, _ = exchange.receive_envelope(session, node.settings, peer, principal, envelope)
        else:
            added = service.add_objects(session, principal, found, envelope)
        session.commit()
        return orjson.dumps(service.status_json(added))

    return taxii_response(await run_in_threadpool(store), 202)


@router.get("/api/collections/{collection_id}/objects/{object_id}/", summary="One object")
async def get_object(
    collection_id: str, object_id: str, request: Request, node: NodeDep
) -> Response:
    def answer(session: Session, principal: Principal) -> Response:
        found = _readable(session, collection_id)
        params = _params(request, node)
        listed = service.page(session, principal, found, params, stix_id=object_id)
        return _paged(listed, b"objects", _raw)

    return await read_as(request, node, answer)


@router.delete("/api/collections/{collection_id}/objects/{object_id}/", summary="Delete")
def delete_object(
    collection_id: str,
    object_id: str,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    node: NodeDep,
) -> Response:
    found = _readable(session, collection_id)
    service.delete_object(session, principal, found, object_id, _params(request, node))
    session.commit()
    return taxii_response(b"", 200)


@router.get("/api/collections/{collection_id}/objects/{object_id}/versions/", summary="Versions")
async def get_versions(
    collection_id: str, object_id: str, request: Request, node: NodeDep
) -> Response:
    def answer(session: Session, principal: Principal) -> Response:
        found = _readable(session, collection_id)
        params = _params(request, node)
        params.versions = ["all"]
        listed = service.page(session, principal, found, params, stix_id=object_id)
        return _paged(listed, b"versions", lambda i: orjson.dumps(service.version_label(i)))

    return await read_as(request, node, answer)


@router.get("/api/collections/{collection_id}/manifest/", summary="Manifest")
async def get_manifest(collection_id: str, request: Request, node: NodeDep) -> Response:
    def answer(session: Session, principal: Principal) -> Response:
        found = _readable(session, collection_id)
        params = _params(request, node)
        listed = service.page(session, principal, found, params)
        return _paged(listed, b"objects", _manifest_entry)

    return await read_as(request, node, answer)


@router.api_route(
    "/{rest:path}",
    methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
    include_in_schema=False,
)
async def not_found(rest: str, request: Request) -> Response:
    """Anything else under /taxii2/ gets a TAXII 404 (or 405, or the slash TAXII URLs end in)."""
    for route in router.routes:
        if isinstance(route, APIRoute) and route.endpoint is not not_found:
            match, _ = route.matches({**request.scope, "path": request.url.path})
            if match is Match.PARTIAL:
                return error(405, f"{request.method} is not allowed here")
    if not rest.endswith("/") and rest:
        target = request.url.replace(path=request.url.path + "/")
        return taxii_response(b"", 307, {"Location": str(target)})
    return error(404, f"no TAXII resource at {request.url.path}")
