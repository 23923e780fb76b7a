"""The public site: advisories in the reader's language, search, RSS and Atom feeds per language
and per sector, printable advisory pages and awareness campaign landing pages. No sign-in, no
cookies, no scripts; each page view adds one to a counter of that page and day, nothing more."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from minga.advisories import campaigns, csaf, feeds, public
from minga.advisories.content import SECTOR_RE
from minga.advisories.models import Advisory
from minga.advisories.provider import WHITE
from minga.advisories.service import revisions
from minga.advisories.site import PublicRoute, Reader, ReaderDep, render, secured
from minga.errors import NotFound

router = APIRouter(route_class=PublicRoute, include_in_schema=False)
log = logging.getLogger("minga")

TrackingId = Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9-]+$")]
Lang = Annotated[str, Path(pattern=r"^(es|pt|en)$")]
Sector = Annotated[str, Path(max_length=40, pattern=SECTOR_RE.pattern)]
FEED_SIZE = 50


def _counted(reader: Reader) -> None:
    """One more view of this page today; a busy database loses the count, never the page."""
    try:
        public.count_view(reader.session, reader.request.url.path)
        reader.session.commit()
    except OperationalError:
        reader.session.rollback()
        log.warning("page view of %s not counted: the database is busy", reader.request.url.path)


@router.get("/public", response_class=HTMLResponse)
def public_home(reader: ReaderDep) -> Response:
    return secured(RedirectResponse(f"/public/advisories?lang={reader.lang}", 303))


@router.get("/public/advisories", response_class=HTMLResponse)
def advisory_list(
    reader: ReaderDep,
    q: Annotated[str, Query(max_length=200)] = "",
    sector: Annotated[str, Query(max_length=40)] = "",
) -> Response:
    sector = sector if SECTOR_RE.match(sector) else ""
    items = public.search(reader.session, reader.lang, q=q, sector=sector or None)
    today = datetime.now(UTC).date()
    running = [(c, *campaigns.texts_of(c, reader.lang)) for c in campaigns.current(reader.session)]
    _counted(reader)
    return render(
        reader,
        "advisories/list.html",
        items=items,
        q=q,
        sector=sector,
        sectors=public.sectors(reader.session),
        campaigns=running,
        today=today,
    )


@router.get("/public/advisories/{tracking_id}", response_class=HTMLResponse)
def advisory_page(reader: ReaderDep, tracking_id: TrackingId) -> Response:
    shown = public.find(reader.session, tracking_id, reader.lang)
    advisory = reader.session.scalar(select(Advisory).where(Advisory.tracking_id == tracking_id))
    assert advisory is not None
    history = revisions(reader.session, advisory)
    csaf_path = (
        f"{WHITE}/{csaf.year_of(advisory)}/{csaf.filename(tracking_id)}"
        if csaf.has_csaf(advisory)
        else ""
    )
    _counted(reader)
    return render(reader, "advisories/advisory.html", a=shown, history=history, csaf_path=csaf_path)


@router.get("/public/campaigns/{slug}", response_class=HTMLResponse)
def campaign_page(
    reader: ReaderDep, slug: Annotated[str, Path(max_length=80, pattern=r"^[a-z0-9-]+$")]
) -> Response:
    campaign = campaigns.find(reader.session, slug)
    shown, text = campaigns.texts_of(campaign, reader.lang)
    related = []
    for tracking_id in campaigns.advisory_ids(campaign):
        try:
            related.append(public.find(reader.session, tracking_id, reader.lang))
        except NotFound:
            continue
    _counted(reader)
    return render(
        reader,
        "advisories/campaign.html",
        campaign=campaign,
        text=text,
        text_lang=shown,
        related=related,
    )


def _feed(reader: Reader, lang: str, sector: str | None, kind: str) -> Response:
    items = public.search(
        reader.session,
        lang,
        sector=sector,
        only_in_lang=True,
        include_withdrawn=False,
        limit=FEED_SIZE,
    )
    root = reader.public_url.rstrip("/")
    catalog = reader.web.catalogs[lang]
    title = f"{reader.site_name}: {catalog.gettext('Public advisories')}"
    if sector:
        title += f" ({sector})"
    tail = f"/{sector}" if sector else ""
    self_url = f"{root}/public/feeds/{lang}{tail}.{kind}"
    link = f"{root}/public/advisories?lang={lang}" + (f"&sector={sector}" if sector else "")
    if kind == "rss":
        body = feeds.rss(items, title=title, link=link, self_url=self_url, lang=lang, root=root)
        return secured(Response(body, media_type="application/rss+xml; charset=utf-8"))
    body = feeds.atom(
        items,
        title=title,
        link=link,
        self_url=self_url,
        lang=lang,
        root=root,
        updated=datetime.now(UTC),
    )
    return secured(Response(body, media_type="application/atom+xml; charset=utf-8"))


@router.get("/public/feeds/{lang}.rss")
def rss_feed(reader: ReaderDep, lang: Lang) -> Response:
    return _feed(reader, lang, None, "rss")


@router.get("/public/feeds/{lang}.atom")
def atom_feed(reader: ReaderDep, lang: Lang) -> Response:
    return _feed(reader, lang, None, "atom")


@router.get("/public/feeds/{lang}/{sector}.rss")
def sector_rss_feed(reader: ReaderDep, lang: Lang, sector: Sector) -> Response:
    return _feed(reader, lang, sector, "rss")


@router.get("/public/feeds/{lang}/{sector}.atom")
def sector_atom_feed(reader: ReaderDep, lang: Lang, sector: Sector) -> Response:
    return _feed(reader, lang, sector, "atom")
