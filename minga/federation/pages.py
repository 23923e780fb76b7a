"""The admin page of federation peers (`/admin/peers`, node operator): this node's identity to
read out by phone, the peers with their status, adding one (its token shown once), removing one.

Authority is the service's (`minga.federation.peers`, which asks `minga.policy`); the page
shows its refusal. Every sentence is in the template, so the web catalogs hold them.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from minga.api.errors import status_of
from minga.errors import MingaError
from minga.federation import peers, status
from minga.federation.identity import fetch_identity
from minga.federation.keys import display_fingerprint, node_identity
from minga.federation.models import DIRECTIONS
from minga.web.render import Ctx, Page, PageRoute, redirect, render

router = APIRouter(prefix="/admin", route_class=PageRoute, include_in_schema=False)
FIELDS = ("name", "url", "fingerprint", "direction", "token_env", "country", "sector")


def _peers_page(
    ctx: Ctx,
    code: int = 200,
    error: str = "",
    v: dict[str, str] | None = None,
    added: peers.AddedPeer | None = None,
) -> Response:
    found = status.statuses(ctx.session, ctx.me)  # refuses anyone but the node operator
    settings = ctx.request.app.state.node.settings
    node = node_identity(ctx.session, name=settings.node_name, url=settings.public_url)
    return render(
        ctx,
        "federation/peers.html",
        code,
        section="peers",
        node=node,
        node_fingerprint=display_fingerprint(node.fingerprint),
        peers=found,
        directions=DIRECTIONS,
        error=error,
        v=v or {"direction": "both"},
        added=added,
    )


@router.get("/peers", response_class=HTMLResponse)
def list_peers(ctx: Page) -> Response:
    return _peers_page(ctx)


@router.post("/peers", response_class=HTMLResponse)
def add_peer(ctx: Page) -> Response:
    v = {k: ctx.field(k).strip() for k in FIELDS}
    try:
        added = peers.add_peer(
            ctx.session,
            ctx.me,
            name=v["name"],
            url=v["url"],
            fingerprint_text=v["fingerprint"],
            direction=v["direction"],
            token_env=v["token_env"],
            country=v["country"] or None,
            sector=v["sector"] or None,
            fetch=fetch_identity,
        )
        ctx.session.commit()
    except MingaError as exc:
        ctx.session.rollback()
        return _peers_page(ctx, status_of(exc), exc.message, v)
    # The token is shown once, in this response only; never put in a URL or a cookie.
    return _peers_page(ctx, 201, added=added)


@router.post("/peers/{name}/remove", response_class=HTMLResponse)
def remove_peer(ctx: Page, name: str) -> Response:
    peers.remove_peer(ctx.session, ctx.me, name)
    ctx.session.commit()
    return redirect(ctx, "/admin/peers?done=removed")
