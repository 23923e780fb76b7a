"""Web pages of the regional situation report (page, PDF and HTML in es/pt/en; the stored
scheduled ones), the directory of member organisations used as CMM evidence, and the
scheduler that renders the reports while the node serves."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, nullcontext

from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from minga.accounts.models import Organisation
from minga.api.deps import DbId, get_node
from minga.assessments import sitrep
from minga.assessments.frameworks import CMM_SOURCE
from minga.assessments.frameworks import cmm as cmm_model
from minga.errors import InvalidInput, NotFound
from minga.web.i18n import LANGUAGES
from minga.web.render import Ctx, Page, PageRoute, render


@asynccontextmanager
async def scheduled_reports(app: FastAPI) -> AsyncIterator[None]:
    settings = app.state.node.settings
    sessions = app.state.node.sessions
    on = settings.sitrep_hours > 0
    with sitrep.scheduler(sessions, settings) if on else nullcontext():
        yield


router = APIRouter(route_class=PageRoute, include_in_schema=False, lifespan=scheduled_reports)


def _collect(ctx: Ctx, days: int, country: str, sector: str) -> sitrep.SitrepData:
    if country and (len(country) != 2 or not country.isalpha()):
        raise InvalidInput("country is a two-letter ISO code")
    return sitrep.collect(
        ctx.session,
        ctx.me,
        period_days=days,
        country=country.upper(),
        sector=sector[:64],
    )


@router.get("/sitrep", response_class=HTMLResponse)
def page(ctx: Page, days: int = 30, country: str = "", sector: str = "") -> Response:
    data = _collect(ctx, days, country, sector)
    chart = sitrep.maturity_chart(
        data, ctx.t("National maturity (CMM 2021), mean stage per dimension")
    )
    orgs = list(ctx.session.scalars(select(Organisation)))
    return render(
        ctx,
        "assessments/sitrep.html",
        data=data,
        chart=chart,
        stored=sitrep.stored(ctx.session, ctx.me, limit=12),
        countries=sorted({o.country for o in orgs}),
        sectors=sorted({o.sector for o in orgs}),
        languages_available=LANGUAGES,
        dimensions=cmm_model().dimensions,
        cmm_source=CMM_SOURCE,
    )


def _document(ctx: Ctx, data: sitrep.SitrepData, lang: str, fmt: str, name: str) -> Response:
    node_name = get_node(ctx.request).settings.node_name
    if fmt == "pdf":
        body, media = sitrep.render_pdf(data, lang, node_name), "application/pdf"
    elif fmt == "html":
        body, media = sitrep.render_document(data, lang, node_name).encode(), "text/html"
    else:
        raise NotFound("a situation report is .pdf or .html")
    return Response(
        body,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{name}.{fmt}"'},
    )


@router.get("/sitrep.{fmt}")
def document(
    ctx: Page, fmt: str, days: int = 30, country: str = "", sector: str = "", lang: str = ""
) -> Response:
    data = _collect(ctx, days, country, sector)
    name = f"sitrep-{data.until.isoformat()}"
    return _document(ctx, data, lang if lang in LANGUAGES else ctx.lang, fmt, name)


@router.get("/sitreps/{sitrep_id}.{fmt}")
def stored_document(ctx: Page, sitrep_id: DbId, fmt: str) -> Response:
    row = sitrep.get_stored(ctx.session, ctx.me, sitrep_id)
    if fmt == "pdf":
        body, media = row.pdf, "application/pdf"
    elif fmt == "html":
        body, media = row.html.encode(), "text/html"
    else:
        raise NotFound("a situation report is .pdf or .html")
    name = f"sitrep-{row.created_at.date().isoformat()}-{row.lang}.{fmt}"
    return Response(
        body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@router.get("/assessments/directory", response_class=HTMLResponse)
def directory(ctx: Page, country: str = "", kind: str = "", sector: str = "") -> Response:
    """The member organisations of the node, per country, kind and sector (CMM evidence)."""
    stmt = select(Organisation).where(Organisation.remote_node.is_(None))
    if country:
        stmt = stmt.where(Organisation.country == country.upper()[:2])
    if kind:
        stmt = stmt.where(Organisation.kind == kind[:32])
    if sector:
        stmt = stmt.where(Organisation.sector == sector[:64])
    orgs = list(
        ctx.session.scalars(
            stmt.order_by(Organisation.country, Organisation.kind, Organisation.name)
        )
    )
    return render(
        ctx, "assessments/directory.html", orgs=orgs, country=country, kind=kind, sector=sector
    )
