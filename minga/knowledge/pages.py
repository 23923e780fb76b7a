"""Web pages of the reference knowledge: the ATT&CK matrix of what the node's intelligence
(or one report, grouping, campaign or intrusion set) covers, and its Navigator layer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, nullcontext
from typing import Annotated

import orjson
from fastapi import APIRouter, FastAPI, Query
from fastapi.responses import HTMLResponse, Response

from minga.knowledge import layers, service
from minga.knowledge.attack import DOMAINS
from minga.knowledge.schedule import scheduler
from minga.web.render import Page, PageRoute, render


@asynccontextmanager
async def scheduled_updates(app: FastAPI) -> AsyncIterator[None]:
    hours = app.state.node.settings.knowledge_update_hours
    with scheduler(app.state.node.sessions, hours) if hours > 0 else nullcontext():
        yield


router = APIRouter(route_class=PageRoute, include_in_schema=False, lifespan=scheduled_updates)
DomainQ = Annotated[str, Query(description="enterprise-attack, ics-attack or mobile-attack")]
ScopeQ = Annotated[str | None, Query(description="a report, grouping, campaign, intrusion set")]


@router.get("/attack", response_class=HTMLResponse)
def matrix_page(ctx: Page, domain: DomainQ = "enterprise-attack", scope: ScopeQ = None) -> Response:
    columns, counts = layers.covered_matrix(ctx.session, ctx.me, domain, scope or None)
    return render(
        ctx,
        "knowledge/matrix.html",
        columns=columns,
        counts=counts,
        domain=domain,
        domains=list(DOMAINS),
        scope=scope or "",
        releases=service.releases(ctx.session),
    )


@router.get("/attack/layer.json")
def layer_export(
    ctx: Page, domain: DomainQ = "enterprise-attack", scope: ScopeQ = None
) -> Response:
    layer = layers.navigator_layer(ctx.session, ctx.me, domain, scope or None)
    return Response(
        orjson.dumps(layer, option=orjson.OPT_INDENT_2),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="minga-{domain}-layer.json"'},
    )
