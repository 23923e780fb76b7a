"""REST adapter of notification: preferences, watch lists, webhooks and their delivery logs,
constituencies (one organisation's, or a bulk CSV import by the node operator)."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from minga.api.deps import DB_ID_MAX, CurrentPrincipal, DbId, SessionDep
from minga.errors import InvalidInput
from minga.events import constituency, prefs, watch, webhooks
from minga.events.notify_loop import notify_loop

router = APIRouter(tags=["notify"], lifespan=notify_loop)
MAX_CSV_BYTES = 20 * 1024 * 1024


def _json(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


class PrefsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str | None = Field(default=None, max_length=254)
    language: str | None = Field(default=None, description="es, pt or en")
    mail_mode: str | None = Field(default=None, description="off, immediate or digest")


@router.get("/api/notify/preferences", summary="Your notification preferences")
def get_prefs(session: SessionDep, principal: CurrentPrincipal) -> Response:
    return _json(prefs.get(session, principal.user_id).as_json())


@router.put("/api/notify/preferences", summary="Change your e-mail address, language, mode")
def put_prefs(body: PrefsIn, session: SessionDep, principal: CurrentPrincipal) -> Response:
    found = prefs.set_prefs(
        session, principal, email=body.email, language=body.language, mail_mode=body.mail_mode
    )
    session.commit()
    return _json(found.as_json())


class WatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: str = Field(default="value", description="value or object")
    value: str = Field(max_length=2000, description="a value, or a STIX id for an object")
    abroad_only: bool = Field(default=False, description="only reports from another country")


@router.get("/api/watches", summary="Your watch list")
def list_watches(session: SessionDep, principal: CurrentPrincipal) -> Response:
    return _json({"watches": [w.as_json() for w in watch.list_watches(session, principal)]})


@router.post("/api/watches", status_code=201, summary="Watch a value or an object")
def add_watch(body: WatchIn, session: SessionDep, principal: CurrentPrincipal) -> Response:
    found = watch.add_watch(session, principal, body.kind, body.value, abroad_only=body.abroad_only)
    session.commit()
    return _json(found.as_json(), 201)


@router.delete("/api/watches/{watch_id}", status_code=204, summary="Stop watching")
def remove_watch(watch_id: DbId, session: SessionDep, principal: CurrentPrincipal) -> Response:
    watch.remove_watch(session, principal, watch_id)
    session.commit()
    return Response(status_code=204)


class WebhookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(max_length=2000)
    organisation: bool = Field(default=False, description="the organisation's (admins only)")
    types: list[Annotated[str, Field(max_length=64)]] = Field(default_factory=list, max_length=50)
    max_tlp: str | None = None
    min_score: int | None = Field(default=None, ge=0, le=100)
    watched_only: bool = False


@router.get("/api/webhooks", summary="Your webhooks (and, admins, your organisation's)")
def list_webhooks(session: SessionDep, principal: CurrentPrincipal) -> Response:
    return _json({"webhooks": [w.as_json() for w in webhooks.list_for(session, principal)]})


@router.post(
    "/api/webhooks",
    status_code=201,
    summary="Make a webhook; its signing secret is in this answer only",
)
def create_webhook(body: WebhookIn, session: SessionDep, principal: CurrentPrincipal) -> Response:
    hook, secret = webhooks.create(
        session,
        principal,
        url=body.url,
        for_org=body.organisation,
        types=body.types,
        max_tlp=body.max_tlp,
        min_score=body.min_score,
        watched_only=body.watched_only,
    )
    session.commit()
    return _json({**hook.as_json(), "secret": secret}, 201)


@router.delete("/api/webhooks/{webhook_id}", status_code=204, summary="Remove a webhook")
def remove_webhook(webhook_id: DbId, session: SessionDep, principal: CurrentPrincipal) -> Response:
    webhooks.remove(session, principal, webhook_id)
    session.commit()
    return Response(status_code=204)


@router.get("/api/webhooks/{webhook_id}/deliveries", summary="A webhook's delivery log")
def list_deliveries(
    webhook_id: DbId,
    session: SessionDep,
    principal: CurrentPrincipal,
    status: Annotated[str | None, Query(description="pending, delivered or dead")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Response:
    found = webhooks.deliveries(session, principal, webhook_id, status=status, limit=limit)
    return _json({"deliveries": found})


@router.post(
    "/api/webhooks/{webhook_id}/deliveries/{delivery_id}/replay",
    status_code=202,
    summary="Send a delivery again",
)
def replay_delivery(
    webhook_id: DbId,
    delivery_id: DbId,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> Response:
    webhooks.replay(session, principal, webhook_id, delivery_id)
    session.commit()
    return _json({"status": webhooks.PENDING}, 202)


class AssetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    asset: str = Field(
        max_length=300, description="AS64500, 192.0.2.0/24, 2001:db8::/32, example.org"
    )
    kind: str | None = Field(default=None, description="asn, ip or domain (default: guessed)")


OrgQuery = Annotated[int | None, Query(ge=1, le=DB_ID_MAX, description="default: your own")]


@router.get("/api/constituency", summary="What an organisation answers for")
def list_assets(
    session: SessionDep, principal: CurrentPrincipal, org_id: OrgQuery = None
) -> Response:
    org = org_id or principal.org_id
    return _json({"org_id": org, "assets": constituency.list_assets(session, principal, org)})


@router.post("/api/constituency", status_code=201, summary="Add an ASN, IP range or domain")
def add_asset(
    body: AssetIn, session: SessionDep, principal: CurrentPrincipal, org_id: OrgQuery = None
) -> Response:
    found = constituency.add_asset(
        session, principal, org_id or principal.org_id, body.asset, body.kind
    )
    session.commit()
    return _json(found, 201)


@router.delete("/api/constituency/{asset_id}", status_code=204, summary="Remove an asset")
def remove_asset(
    asset_id: DbId, session: SessionDep, principal: CurrentPrincipal, org_id: OrgQuery = None
) -> Response:
    constituency.remove_asset(session, principal, org_id or principal.org_id, asset_id)
    session.commit()
    return Response(status_code=204)


@router.post(
    "/api/constituency/import",
    summary="Import constituencies from CSV (organisation,asset[,kind]); node operator",
)
async def import_assets(
    request: Request, session: SessionDep, principal: CurrentPrincipal
) -> Response:
    body = await request.body()
    if len(body) > MAX_CSV_BYTES:
        raise InvalidInput(f"the CSV is larger than {MAX_CSV_BYTES} bytes")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput("the CSV must be UTF-8 text") from exc

    def store() -> dict[str, int]:
        done = constituency.import_csv(session, principal, text)
        session.commit()
        return {"added": done.added, "already": done.already}

    return _json(await run_in_threadpool(store))
