"""REST: correlations of values and objects, correlation exclusions, warninglists."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, nullcontext
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, FastAPI, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from minga.api.deps import CurrentPrincipal, DbId, NodeDep, SessionDep
from minga.correlate import exclusions, lookup, warninglists
from minga.errors import InvalidInput
from minga.intel import search
from minga.intel import service as intel


@asynccontextmanager
async def text_indexer(app: FastAPI) -> AsyncIterator[None]:
    """While the node serves: the SQLite free-text index follows the writes (`intel.search`)."""
    node = app.state.node
    seconds = node.settings.search_index_seconds
    sqlite = node.settings.database_url.startswith("sqlite")
    with search.indexer(node.sessions, seconds) if seconds > 0 and sqlite else nullcontext():
        yield


router = APIRouter(tags=["correlation"], lifespan=text_indexer)
JSON = "application/json"
ValueQ = Annotated[
    list[str],
    Query(description="A value (address, network, domain, URL, e-mail, hash); repeat for more."),
]


def _json(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type=JSON)


def _answer(found: list[lookup.Correlation]) -> Response:
    return _json({"values": [c.as_dict() for c in found]})


@router.get(
    "/api/correlations",
    summary="What the node holds that you may see about values: equal, inside, containing",
)
def correlate_values(
    session: SessionDep, principal: CurrentPrincipal, node: NodeDep, value: ValueQ
) -> Response:
    limit = node.settings.correlation_limit
    return _answer(lookup.lookup(session, principal, value, limit=limit))


@router.post(
    "/api/correlations",
    summary='Correlate many values at once: {"values": [...]} (a report\'s, up to 10,000)',
)
async def correlate_many(
    request: Request, session: SessionDep, principal: CurrentPrincipal, node: NodeDep
) -> Response:
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        raise InvalidInput('send {"values": ["value", ...]} as JSON') from None
    values = body.get("values") if isinstance(body, dict) else None
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise InvalidInput('send {"values": ["value", ...]} as JSON')
    limit = node.settings.correlation_limit
    found = await run_in_threadpool(lookup.lookup, session, principal, values, limit=limit)
    return _answer(found)


@router.get(
    "/api/objects/{stix_id}/correlations",
    tags=["objects"],
    summary="The correlations of every value of an object you may see (itself left out)",
)
def correlate_object(
    stix_id: str, session: SessionDep, principal: CurrentPrincipal, node: NodeDep
) -> Response:
    item = intel.get_object(session, principal, stix_id)
    limit = node.settings.correlation_limit
    found = lookup.correlate_object(session, principal, item.pk, item.stix_id, limit=limit)
    return _json({"id": item.stix_id, "values": [c.as_dict() for c in found]})


def _exclusion(e: exclusions.Exclusion) -> dict[str, Any]:
    return {
        "id": e.id, "kind": e.kind, "value": e.value, "reason": e.reason,
        "created_by": e.created_by, "created_at": e.created_at.isoformat(),
    }  # fmt: skip


@router.get("/api/correlations/exclusions", summary="Values never correlated on this node")
def list_exclusions(session: SessionDep, principal: CurrentPrincipal) -> Response:
    return _json({"exclusions": [_exclusion(e) for e in exclusions.list_exclusions(session)]})


@router.post(
    "/api/correlations/exclusions",
    status_code=201,
    summary='Exclude a value from correlation (node operator): {"value": ..., "reason": ...}',
)
async def add_exclusion(
    request: Request, session: SessionDep, principal: CurrentPrincipal
) -> Response:
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        body = None
    if not isinstance(body, dict) or not isinstance(body.get("value"), str):
        raise InvalidInput('send {"value": "...", "reason": "..."} as JSON')
    reason = body.get("reason")
    found = exclusions.add_exclusion(
        session, principal, body["value"], reason if isinstance(reason, str) else ""
    )
    session.commit()
    return _json(_exclusion(found), 201)


@router.delete(
    "/api/correlations/exclusions/{exclusion_id}",
    summary="Correlate an excluded value again (node operator)",
)
def remove_exclusion(
    exclusion_id: DbId, session: SessionDep, principal: CurrentPrincipal
) -> Response:
    found = exclusions.remove_exclusion(session, principal, str(exclusion_id))
    session.commit()
    return _json(_exclusion(found))


def _list(w: warninglists.Warninglist) -> dict[str, Any]:
    return {
        "id": w.id, "name": w.name, "description": w.description, "version": w.version,
        "type": w.list_type, "matching_attributes": w.matching, "enabled": w.enabled,
        "entries": w.entries, "imported_at": w.imported_at.isoformat(),
    }  # fmt: skip


@router.get("/api/warninglists", tags=["warninglists"], summary="Imported warninglists")
def list_warninglists(session: SessionDep, principal: CurrentPrincipal) -> Response:
    return _json(
        {
            "built_in": warninglists.BUILT_IN,
            "warninglists": [_list(w) for w in warninglists.list_lists(session)],
        }
    )


@router.post(
    "/api/warninglists",
    tags=["warninglists"],
    status_code=201,
    summary="Import a warninglist in MISP's JSON format (node operator); same name: replaced",
)
async def import_warninglist(
    request: Request, session: SessionDep, principal: CurrentPrincipal
) -> Response:
    found = warninglists.import_list(session, principal, await request.body())
    session.commit()
    return _json(_list(found), 201)


@router.delete("/api/warninglists/{list_id}", tags=["warninglists"], summary="Remove a warninglist")
def remove_warninglist(list_id: DbId, session: SessionDep, principal: CurrentPrincipal) -> Response:
    found = warninglists.remove_list(session, principal, str(list_id))
    session.commit()
    return _json(_list(found))
