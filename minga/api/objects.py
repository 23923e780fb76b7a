"""REST endpoints for STIX objects: create, bulk create, get, list, versions, revoke."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import select
from sqlalchemy.orm import Session

from minga.accounts.models import Organisation
from minga.api.deps import (
    DB_ID_MAX,
    CurrentPrincipal,
    DbId,
    NodeDep,
    SessionDep,
    read_as,
)
from minga.api.errors import error_body
from minga.correlate import scores
from minga.correlate.duplicates import told
from minga.correlate.sighting_views import sighting_facts
from minga.errors import InvalidInput
from minga.federation import receipt_tally
from minga.intel import service
from minga.intel.service import ObjectQuery, StoredObject
from minga.intel.stix import ts_to_us
from minga.policy import Principal, Tlp

router = APIRouter(prefix="/api/objects", tags=["objects"])
JSON = "application/json"


def _json(body: bytes, status: int = 200) -> Response:
    return Response(content=body, status_code=status, media_type=JSON)


def _org_names(session: Session, only: int | None = None) -> dict[int, str]:
    """Organisation names by id: all of them, or `only` that one."""
    query = select(Organisation.id, Organisation.name)
    if only is not None:
        query = query.where(Organisation.id == only)
    return {oid: name for oid, name in session.execute(query)}


def envelope(item: StoredObject, orgs: dict[int, str], **extra: Any) -> bytes:
    """`{"object": <raw STIX>, "meta": {...}}` without decoding the stored JSON again."""
    meta = {
        "version": item.version,
        "date_added": item.date_added,
        "tlp": item.tlp.value,
        "reach": item.reach.value,
        "owner": {"id": item.owner_org_id, "name": orgs.get(item.owner_org_id)},
        "revoked": item.revoked,
        "latest": item.is_latest,
        "source": item.source,
        "origin_node": item.origin_node,
        **extra,
    }
    return b'{"object":' + item.raw.encode() + b',"meta":' + orjson.dumps(meta) + b"}"


async def _decode(request: Request) -> Any:
    body = await request.body()
    if not body:
        raise InvalidInput("the request body is empty: send a STIX object, bundle or list")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"the body is not valid JSON: {exc}") from None


def _items_and_options(payload: Any) -> tuple[list[Any], dict[str, Any]]:
    if isinstance(payload, list):
        return payload, {}
    if not isinstance(payload, dict):
        raise InvalidInput('send a STIX object, a STIX bundle, a list, or {"objects": [...]}')
    if payload.get("type") == "bundle" or (
        "objects" in payload and "type" not in payload and "id" not in payload
    ):
        items = payload.get("objects")
        if not isinstance(items, list):
            raise InvalidInput("objects must be a list")
        options = {k: payload[k] for k in ("tlp", "reach", "groups") if k in payload}
        for key in ("tlp", "reach"):
            if not isinstance(options.get(key, ""), str | None):
                raise InvalidInput(f"{key} must be a name such as 'amber' or 'community'")
        return items, options
    return [payload], {}


def _group_ids(values: Any) -> list[int]:
    if values is None:
        return []
    if not isinstance(values, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= DB_ID_MAX for v in values
    ):
        raise InvalidInput(f"groups must be a list of sharing-group ids (1 to {DB_ID_MAX})")
    return list(values)


TlpQ = Annotated[str | None, Query(description="TLP for objects without a TLP marking")]
ReachQ = Annotated[str | None, Query(description="organisation, community, connected, federation")]
GroupQ = Annotated[list[DbId] | None, Query(description="sharing-group ids (repeat)")]


ID_LIST = {"type": "array", "items": {"type": "integer", "minimum": 1, "maximum": DB_ID_MAX}}
STIX_OR_BULK = {
    "type": "object",
    "description": "a STIX object, a bundle, or {objects, tlp, reach, groups}",
    "properties": {
        "type": {"type": "string"},
        "id": {"type": "string"},
        "objects": {"type": "array", "items": {"type": "object"}},
        "tlp": {"type": "string"},
        "reach": {"type": "string"},
        "groups": ID_LIST,
    },
}
# The body is read raw (objects are stored as sent, no pydantic model), so it is described here.
STIX_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            JSON: {
                "schema": {"anyOf": [STIX_OR_BULK, {"type": "array", "items": {"type": "object"}}]}
            }
        },
    }
}
STORED: dict[int | str, dict[str, Any]] = {
    200: {"description": "Every object was stored already: nothing new"},
    201: {"description": "At least one object version was stored"},
}


@router.post(
    "",
    summary="Create an object, a bundle or a list of objects (all or nothing)",
    responses=STORED,
    openapi_extra=STIX_BODY,
)
@router.post(
    "/bulk",
    summary="Bulk create: a bundle or {objects, tlp, reach, groups}",
    responses=STORED,
    openapi_extra=STIX_BODY,
)
async def create_objects(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    node: NodeDep,
    tlp: TlpQ = None,
    reach: ReachQ = None,
    group: GroupQ = None,
) -> Response:
    items, options = _items_and_options(await _decode(request))
    if len(items) > node.settings.bulk_max_objects:
        raise InvalidInput(f"at most {node.settings.bulk_max_objects} objects per request")

    def store() -> tuple[service.WriteResult, dict[str, Any]]:  # off the event loop
        result = service.create_objects(
            session,
            principal,
            items,
            tlp=service.parse_tlp(options.get("tlp", tlp)),
            reach=service.parse_reach(options.get("reach", reach)),
            group_ids=_group_ids(options.get("groups", group)),
            link_known=True,  # a value published before links to its indicator
        )
        session.commit()
        return result, told(session, principal, items, result.linked)

    result, notes = await run_in_threadpool(store)
    body = {
        "created": [{"id": i, "version": v} for i, v in result.created],
        "existing": [{"id": i, "version": v} for i, v in result.existing],
        **notes,  # already_known (linked to your indicators), also_reported (by others)
    }
    return _json(orjson.dumps(body), 201 if result.created else 200)


def _ts(value: str | None, name: str) -> int | None:
    if value is None:
        return None
    try:
        return ts_to_us(value)
    except ValueError:
        raise InvalidInput(f"{name} must be a timestamp such as 2024-01-31T12:00:00Z") from None


@router.get("", summary="List the objects you may see, newest first, with a stable cursor")
def list_objects(
    session: SessionDep,
    principal: CurrentPrincipal,
    node: NodeDep,
    type: Annotated[list[str] | None, Query(description="STIX type (repeat)")] = None,
    tlp: Annotated[list[str] | None, Query(description="TLP level (repeat)")] = None,
    owner: Annotated[DbId | None, Query(description="owning organisation id")] = None,
    added_after: str | None = None,
    added_before: str | None = None,
    modified_after: str | None = None,
    modified_before: str | None = None,
    q: Annotated[str | None, Query(max_length=200, description="free-text search")] = None,
    include_revoked: bool = False,
    order: Annotated[str, Query(pattern="^(newest|oldest)$")] = "newest",
    limit: Annotated[int, Query(ge=1)] = 100,
    cursor: str | None = None,
) -> Response:
    if cursor:
        try:
            service.decode_cursor(cursor)
        except InvalidInput as exc:  # the issue asks for a plain 400 for a cursor
            return _json(orjson.dumps(error_body(exc.code, exc.message)), 400)
    levels: list[Tlp] = []
    for value in tlp or []:
        level = service.parse_tlp(value)
        if level is not None:
            levels.append(level)
    query = ObjectQuery(
        types=type or (),
        tlps=levels,
        owner_org_id=owner,
        added_after_us=_ts(added_after, "added_after"),
        added_before_us=_ts(added_before, "added_before"),
        modified_after_us=_ts(modified_after, "modified_after"),
        modified_before_us=_ts(modified_before, "modified_before"),
        text=q or None,
        include_revoked=include_revoked,
        newest_first=order == "newest",
    )
    page = service.list_objects(
        session, principal, query, limit=min(limit, node.settings.page_size_max), cursor=cursor
    )
    orgs = _org_names(session)
    scored = scores.score_of(session, [i.stix_id for i in page.items])
    items = b",".join(envelope(i, orgs, **_score_meta(scored, i.stix_id)) for i in page.items)
    return _json(b'{"objects":[' + items + b'],"next":' + orjson.dumps(page.next_cursor) + b"}")


@router.get("/{stix_id}", summary="The newest version you may see (or ?version=)")
async def get_object(
    stix_id: str, request: Request, node: NodeDep, version: str | None = None
) -> Response:
    def answer(session: Session, principal: Principal) -> Response:  # short indexed reads
        found = service.get_object(session, principal, stix_id, version)
        # Receipts are kept at the origin: "received by N nodes, recalled at M of N".
        tally = None
        if found.origin_node is None:
            received, recalled = receipt_tally.counts(session, stix_id)
            tally = {"received": received, "recalled": recalled}
        orgs = _org_names(session, found.owner_org_id)
        # Sightings the caller may count, and the indicator's score (null for what is not scored).
        facts = sighting_facts(session, principal, stix_id)
        meta = {"receipts": tally, "sightings": facts["summary"], "score": facts["score"]}
        return _json(envelope(found, orgs, **meta))

    return await read_as(request, node, answer)


def _score_meta(found: dict[str, scores.Score], stix_id: str) -> dict[str, Any]:
    """`score` in an object's meta: its indicator score (null for what is not scored)."""
    score = found.get(stix_id)
    return {"score": score.as_json() if score else None}


@router.get("/{stix_id}/versions", summary="Every version of an object you may see, oldest first")
def get_versions(stix_id: str, session: SessionDep, principal: CurrentPrincipal) -> Response:
    found = service.versions(session, principal, stix_id)
    orgs = _org_names(session)
    return _json(b'{"versions":[' + b",".join(envelope(i, orgs) for i in found) + b"]}")


@router.post("/{stix_id}/revoke", summary="Revoke an object your organisation created")
def revoke_object(stix_id: str, session: SessionDep, principal: CurrentPrincipal) -> Response:
    found = service.revoke(session, principal, stix_id)
    session.commit()
    return _json(envelope(found, _org_names(session)))
