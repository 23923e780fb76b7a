"""Web pages of the feeds: `/export` downloads the indicators a user may see in a
defence tool's format, and makes the feed URLs (with their tokens) that such tools poll."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from minga.accounts.models import User
from minga.correlate import feed_tokens
from minga.correlate.export import FORMATS, Kind, get_format
from minga.correlate.feed_views import FILTER_NAMES, feed_url, streamed
from minga.correlate.feeds import FeedFilter, parse_filter
from minga.errors import InvalidInput, MingaError
from minga.policy import Action, Role, Target, Tlp, may
from minga.web.render import Ctx, Page, PageRoute, redirect, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)


def _choices(ctx: Ctx) -> dict[str, list[str]]:
    """The filter choices of the request (the page's form), as lists of words."""
    params = ctx.request.query_params
    if ctx.form is not None:
        return {name: ctx.fields(name) for name in FILTER_NAMES | {"format"}}
    return {name: [v for v in params.getlist(name) if v] for name in FILTER_NAMES | {"format"}}


def _filter(choices: dict[str, list[str]]) -> FeedFilter:
    def one(name: str) -> str | None:
        return choices.get(name, [None])[0] if choices.get(name) else None

    score = one("min_score")
    if score and not score.isdigit():
        raise InvalidInput("the lowest score must be a whole number from 0 to 100")
    return parse_filter(
        types=choices.get("type", []),
        tlp=one("tlp"),
        min_score=int(score) if score else None,
        since=one("since"),
        sectors=choices.get("sector", []),
        countries=choices.get("country", []),
        include_expired=bool(one("include_expired")),
        include_warninglisted=bool(one("include_warninglisted")),
    )


def _page(ctx: Ctx, status: int = 200, **values: Any) -> Response:
    me = ctx.me
    choices = _choices(ctx)
    # Yourself, and (organisation admins) the machine accounts a firewall polls as.
    machines: list[User] = []
    if may(me, Action.MANAGE_USERS, Target(org_id=me.org_id)):
        found = ctx.session.scalars(
            select(User).where(
                User.org_id == me.org_id, User.role == Role.MACHINE.value, User.active
            )
        )
        machines = list(found)
    return render(
        ctx,
        "feeds/export.html",
        status,
        formats=list(FORMATS.values()),
        kinds=[k.value for k in Kind],
        tlps=[t.value for t in Tlp],
        chosen=choices,
        tokens=feed_tokens.list_feed_tokens(ctx.session, me),
        machines=machines,
        **values,
    )


@router.get("/export", response_class=HTMLResponse)
def export_page(ctx: Page, format: str = "") -> Response:
    """The form; with `format`, the download itself (streamed, any size)."""
    if not format:
        return _page(ctx)
    fmt = get_format(format)
    f = _filter(_choices(ctx))
    return streamed(ctx.request.app.state.node, ctx.me, fmt, f)


@router.post("/export/feed-tokens", response_class=HTMLResponse)
def issue_feed_token(ctx: Page) -> Response:
    try:
        choices = _choices(ctx)
        fmt = get_format((choices.get("format") or ["txt"])[0])
        _filter(choices)  # refuse bad words before a token exists
        user_id = int(ctx.field("user_id")) if ctx.field("user_id").isdigit() else ctx.me.user_id
        issued = feed_tokens.issue(ctx.session, ctx.me, user_id=user_id, name=ctx.field("name"))
        ctx.session.commit()
    except MingaError as exc:
        return _page(ctx, 422, error=exc.message)
    query = {k: v for k, v in choices.items() if k != "format" and v}
    base = ctx.request.app.state.node.settings.public_url
    # Shown once, in this answer only.
    return _page(ctx, 201, issued_url=feed_url(base, fmt, issued.token, query))


@router.post("/export/feed-tokens/{public_id}/revoke", response_class=HTMLResponse)
def revoke_feed_token(ctx: Page, public_id: str) -> Response:
    feed_tokens.revoke(ctx.session, ctx.me, public_id)
    ctx.session.commit()
    return redirect(ctx, "/export?done=revoked")
