"""REST endpoints (Minga JSON, not TAXII) for admins and coordinators to define collections.

A collection belongs to the organisation that defined it (node-owned ones, such as `all`, to the
node operator); only the owner's admins and coordinators remove it (`minga.policy`).
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request, Response

from minga.accounts.checks import require
from minga.api.deps import CurrentPrincipal, SessionDep
from minga.errors import InvalidInput
from minga.policy import Action, Target
from minga.taxii import service
from minga.taxii.models import Collection

router = APIRouter(prefix="/api/taxii", tags=["taxii"])


def collection_json(c: Collection) -> dict[str, Any]:
    return {
        "id": c.id,
        "title": c.title,
        "description": c.description,
        "alias": c.alias,
        "filters": orjson.loads(c.filters or "{}"),
        "can_read": c.can_read,
        "can_write": c.can_write,
        "owner_org_id": c.owner_org_id,
    }


@router.get("/collections", summary="Every TAXII collection with its filters")
def list_collections(session: SessionDep, principal: CurrentPrincipal) -> Response:
    body = [collection_json(c) for c in service.list_collections(session)]
    return Response(orjson.dumps({"collections": body}), media_type="application/json")


@router.post("/collections", status_code=201, summary="Define a TAXII collection")
async def create_collection(
    request: Request, session: SessionDep, principal: CurrentPrincipal
) -> Response:
    require(principal, Action.MANAGE_COLLECTIONS, Target(org_id=principal.org_id))
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"the body is not valid JSON: {exc}") from None
    if not isinstance(body, dict) or not isinstance(body.get("title"), str):
        raise InvalidInput('send {"title": ..., "alias": ..., "filters": {...}, "can_write": ...}')
    for key in ("can_read", "can_write"):
        if not isinstance(body.get(key, True), bool):
            raise InvalidInput(f"{key} must be true or false")
    if not isinstance(body.get("description", ""), str) or not isinstance(
        body.get("alias") or "", str
    ):
        raise InvalidInput("description and alias must be text")
    found = service.create_collection(
        session,
        principal,
        title=body["title"],
        description=body.get("description", ""),
        alias=body.get("alias"),
        filters=body.get("filters") or {},
        can_read=body.get("can_read", True),
        can_write=body.get("can_write", False),
    )
    found.owner_org_id = principal.org_id
    session.commit()
    return Response(orjson.dumps(collection_json(found)), 201, media_type="application/json")


@router.delete("/collections/{ref}", summary="Remove a TAXII collection (objects stay)")
def delete_collection(ref: str, session: SessionDep, principal: CurrentPrincipal) -> Response:
    owner = service.get_collection(session, ref).owner_org_id
    require(principal, Action.MANAGE_COLLECTIONS, Target(org_id=owner))
    found = service.delete_collection(session, principal, ref)
    session.commit()
    return Response(orjson.dumps({"deleted": found.id}), media_type="application/json")
