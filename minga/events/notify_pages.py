"""Web pages of notification: `/notifications` (e-mail preferences, watch list, webhooks and
the organisation's constituency), and a webhook's delivery log with replay."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from minga.accounts.models import Organisation
from minga.errors import InvalidInput, MingaError
from minga.events import constituency, prefs, watch, webhooks
from minga.policy import (
    Role,
    Tlp,
    is_node_operator,
    may_import_constituencies,
    may_manage_constituency,
)
from minga.web.render import Ctx, Page, PageRoute, redirect, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)


def _org_id(ctx: Ctx) -> int:
    """Whose constituency the page shows: the caller's, or (node operator) the one chosen."""
    raw = ctx.field("org_id") or ctx.request.query_params.get("org_id", "")
    if raw.isdigit() and is_node_operator(ctx.me):
        return int(raw)
    return ctx.me.org_id


def _page(ctx: Ctx, status: int = 200, **values: Any) -> Response:
    me = ctx.me
    org_id = _org_id(ctx)
    assets = None
    if may_manage_constituency(me, org_id):
        assets = constituency.list_assets(ctx.session, me, org_id)
    orgs: list[Organisation] = []
    if is_node_operator(me):
        query = select(Organisation).where(Organisation.remote_node.is_(None))
        orgs = list(ctx.session.scalars(query.order_by(Organisation.name)))
    return render(
        ctx,
        "notify/notifications.html",
        status,
        prefs=prefs.get(ctx.session, me.user_id),
        modes=prefs.MODES,
        watches=watch.list_watches(ctx.session, me),
        hooks=webhooks.list_for(ctx.session, me),
        tlps=[t.value for t in Tlp],
        is_admin=me.role is Role.ADMIN,
        assets=assets,
        org_id=org_id,
        orgs=orgs,
        can_import=may_import_constituencies(me),
        **values,
    )


def _act(ctx: Ctx, action: Any, done: str) -> Response:
    try:
        action()
        ctx.session.commit()
    except MingaError as exc:
        ctx.session.rollback()
        return _page(ctx, 422, error=exc.message)
    return redirect(ctx, f"/notifications?done={done}&org_id={_org_id(ctx)}")


@router.get("/notifications", response_class=HTMLResponse)
def notifications_page(ctx: Page) -> Response:
    return _page(ctx)


@router.post("/notifications/preferences", response_class=HTMLResponse)
def save_prefs(ctx: Page) -> Response:
    return _act(
        ctx,
        lambda: prefs.set_prefs(
            ctx.session,
            ctx.me,
            email=ctx.field("email"),
            language=ctx.field("language"),
            mail_mode=ctx.field("mail_mode"),
        ),
        "saved",
    )


@router.post("/notifications/watches", response_class=HTMLResponse)
def add_watch(ctx: Page) -> Response:
    return _act(
        ctx,
        lambda: watch.add_watch(
            ctx.session,
            ctx.me,
            ctx.field("kind", "value"),
            ctx.field("value"),
            abroad_only=bool(ctx.field("abroad_only")),
        ),
        "watching",
    )


@router.post("/notifications/watches/{watch_id}/remove", response_class=HTMLResponse)
def remove_watch(ctx: Page, watch_id: int) -> Response:
    return _act(ctx, lambda: watch.remove_watch(ctx.session, ctx.me, watch_id), "unwatched")


@router.post("/notifications/webhooks", response_class=HTMLResponse)
def add_webhook(ctx: Page) -> Response:
    score = ctx.field("min_score")
    try:
        if score and not score.isdigit():
            raise InvalidInput("the lowest score must be a whole number from 0 to 100")
        hook, secret = webhooks.create(
            ctx.session,
            ctx.me,
            url=ctx.field("url"),
            for_org=bool(ctx.field("organisation")),
            types=ctx.field("types").replace(",", " ").split(),
            max_tlp=ctx.field("max_tlp") or None,
            min_score=int(score) if score else None,
            watched_only=bool(ctx.field("watched_only")),
        )
        ctx.session.commit()
    except MingaError as exc:
        ctx.session.rollback()
        return _page(ctx, 422, error=exc.message)
    return _page(ctx, 201, issued_secret=secret, issued_url=hook.url)  # shown once, here


@router.post("/notifications/webhooks/{webhook_id}/remove", response_class=HTMLResponse)
def remove_webhook(ctx: Page, webhook_id: int) -> Response:
    return _act(ctx, lambda: webhooks.remove(ctx.session, ctx.me, webhook_id), "removed")


@router.get("/notifications/webhooks/{webhook_id}", response_class=HTMLResponse)
def deliveries_page(ctx: Page, webhook_id: int, status: str = "") -> Response:
    hook = webhooks.get(ctx.session, ctx.me, webhook_id)
    log = webhooks.deliveries(ctx.session, ctx.me, webhook_id, status=status or None)
    return render(ctx, "notify/deliveries.html", hook=hook, deliveries=log, chosen=status)


@router.post(
    "/notifications/webhooks/{webhook_id}/deliveries/{delivery_id}/replay",
    response_class=HTMLResponse,
)
def replay(ctx: Page, webhook_id: int, delivery_id: int) -> Response:
    webhooks.replay(ctx.session, ctx.me, webhook_id, delivery_id)
    ctx.session.commit()
    return redirect(ctx, f"/notifications/webhooks/{webhook_id}?done=replayed")


@router.post("/notifications/constituency", response_class=HTMLResponse)
def add_asset(ctx: Page) -> Response:
    return _act(
        ctx,
        lambda: constituency.add_asset(
            ctx.session, ctx.me, _org_id(ctx), ctx.field("asset"), ctx.field("kind") or None
        ),
        "added",
    )


@router.post("/notifications/constituency/{asset_id}/remove", response_class=HTMLResponse)
def remove_asset(ctx: Page, asset_id: int) -> Response:
    return _act(
        ctx, lambda: constituency.remove_asset(ctx.session, ctx.me, _org_id(ctx), asset_id), "gone"
    )


@router.post("/notifications/constituency/import", response_class=HTMLResponse)
def import_assets(ctx: Page) -> Response:
    try:
        done = constituency.import_csv(ctx.session, ctx.me, ctx.field("csv"))
        ctx.session.commit()
    except MingaError as exc:
        ctx.session.rollback()
        return _page(ctx, 422, error=exc.message)
    return _page(ctx, imported=done)
