"""REST and feed URLs: `GET /api/export/{format}` (an API token), `/feeds/{format}` (a feed
token or an API token, in `Authorization: Bearer` or `?token=`, with ETag and Last-Modified
so that pollers download only what changed), and the feed tokens themselves."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from minga.accounts.models import User
from minga.api.deps import (
    CurrentPrincipal,
    NodeDep,
    SessionDep,
    UtcDatetime,
    authenticate,
    token_from,
)
from minga.app import Node
from minga.correlate import feed_tokens
from minga.correlate.export import FORMATS, Format, Kind, get_format
from minga.correlate.feed_cache import FeedCache, Produced, fingerprint
from minga.correlate.feeds import FeedFilter, parse_filter
from minga.correlate.produce import byte_chunks, spool
from minga.errors import InvalidInput
from minga.policy import Principal

router = APIRouter(tags=["feeds"])
FORMAT_HELP = "one of " + ", ".join(FORMATS)
TYPE_HELP = ", ".join(k.value for k in Kind) + " (repeat or separate with commas)"
FILTER_NAMES = frozenset(
    {"type", "tlp", "min_score", "since", "sector", "country"}
    | {"include_expired", "include_warninglisted"}
)


@dataclass(frozen=True, slots=True)
class FilterParams:
    """The feed filters, as query parameters (the same words as `minga export`'s options)."""

    type: list[str]
    tlp: str | None
    min_score: int | None
    since: str | None
    sector: list[str]
    country: list[str]
    include_expired: bool
    include_warninglisted: bool

    def feed_filter(self) -> FeedFilter:
        return parse_filter(
            types=self.type,
            tlp=self.tlp,
            min_score=self.min_score,
            since=self.since,
            sectors=self.sector,
            countries=self.country,
            include_expired=self.include_expired,
            include_warninglisted=self.include_warninglisted,
        )


def filter_params(
    type: Annotated[
        list[str],
        Query(description=TYPE_HELP),
    ] = [],  # noqa: B006
    tlp: Annotated[
        str | None, Query(description="the highest TLP exported (clear ... red)")
    ] = None,
    min_score: Annotated[int | None, Query(ge=0, le=100, description="the lowest score")] = None,
    since: Annotated[
        str | None, Query(description="added to this node on or after (date or RFC 3339)")
    ] = None,
    sector: Annotated[
        list[str], Query(description="reporting organisation's sector (repeat)")
    ] = [],  # noqa: B006
    country: Annotated[
        list[str], Query(description="reporting organisation's country, ISO code (repeat)")
    ] = [],  # noqa: B006
    include_expired: Annotated[bool, Query(description="also indicators past valid_until")] = False,
    include_warninglisted: Annotated[
        bool, Query(description="also values on a warninglist")
    ] = False,
) -> FilterParams:
    return FilterParams(
        type, tlp, min_score, since, sector, country, include_expired, include_warninglisted
    )


Filters = Annotated[FilterParams, Depends(filter_params)]


def attachment(fmt: Format) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="minga-{fmt.name}.{fmt.suffix}"'}


def streamed(node: Node, principal: Principal, fmt: Format, f: FeedFilter) -> StreamingResponse:
    """A download of any size, streamed while it is read from the store."""
    chunks = byte_chunks(node.sessions, principal, fmt, f, node.settings.node_name)
    return StreamingResponse(chunks, media_type=fmt.media_type, headers=attachment(fmt))


@router.get("/api/export/{format}", summary="Export the indicators you may see for a defence tool")
def export(
    format: str, filters: Filters, principal: CurrentPrincipal, node: NodeDep
) -> StreamingResponse:
    fmt = get_format(format)
    return streamed(node, principal, fmt, filters.feed_filter())


def _feed_principal(request: Request, session: Session) -> Principal:
    token = request.query_params.get("token") or token_from(request)
    if token is None:
        return authenticate(request, session)  # answers how to send a token
    if feed_tokens.looks_like_feed_token(token):
        principal = feed_tokens.verify(session, token)
        if feed_tokens.mark_used(session, token):
            session.commit()
        return principal
    if request.query_params.get("token"):
        # An API token in the URL: accepted like the header (some pollers can send no header).
        verifier = request.app.state.node.verifier
        return verifier.verify(session, token).principal
    return authenticate(request, session)


def _not_modified(request: Request, etag: str, last_modified: datetime) -> bool:
    """RFC 9110 13.1: If-None-Match decides when sent; else If-Modified-Since."""
    match = request.headers.get("if-none-match")
    if match is not None:
        tags = {t.strip().removeprefix("W/") for t in match.split(",")}
        return "*" in tags or etag in tags
    since = request.headers.get("if-modified-since")
    if since:
        try:
            return last_modified <= parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False
    return False


def _cache(request: Request) -> FeedCache:
    state = request.app.state
    if getattr(state, "feed_cache", None) is None:
        state.feed_cache = FeedCache()
    cache: FeedCache = state.feed_cache
    return cache


def _validators(etag: str, last_modified: datetime) -> dict[str, str]:
    return {
        "ETag": etag,
        "Last-Modified": format_datetime(last_modified, usegmt=True),
        "Cache-Control": "private, no-cache",
    }


def _still(known: Produced | None, request: Request, now_us: int) -> bool:
    """Does the poller hold the feed as last produced, and may it still be the same?"""
    if known is None or request.headers.get("if-none-match") is None:
        return False
    if known.next_expiry_us and now_us >= known.next_expiry_us:
        return False
    return _not_modified(request, known.etag, known.last_modified)


FEED_SUMMARY = "A feed URL a firewall, resolver or IDS polls (feed token or API token)"


@router.head("/feeds/{format}", summary=FEED_SUMMARY, operation_id="feed_head")
@router.get("/feeds/{format}", summary=FEED_SUMMARY, operation_id="feed_get")
def feed(
    format: str, filters: Filters, request: Request, session: SessionDep, node: NodeDep
) -> Response:
    fmt = get_format(format)
    f = filters.feed_filter()
    principal = _feed_principal(request, session)
    cache, key = _cache(request), (fmt.name, f, principal)
    now_us = int(time.time() * 1_000_000)
    known = cache.get(key)
    current = fingerprint(session, principal, f)
    if _still(known, request, now_us) and known is not None and known.fingerprint == current:
        session.rollback()
        return Response(status_code=304, headers=_validators(known.etag, known.last_modified))
    produced = spool(session, principal, fmt, f, node.settings.node_name)
    session.rollback()
    cache.put(
        key, Produced(current, produced.etag, produced.last_modified, produced.next_expiry_us)
    )
    headers = _validators(produced.etag, produced.last_modified)
    if _not_modified(request, produced.etag, produced.last_modified):
        produced.body.close()
        return Response(status_code=304, headers=headers)
    headers["Content-Length"] = str(produced.size)
    if request.method == "HEAD":
        produced.body.close()
        return Response(status_code=200, headers=headers, media_type=fmt.media_type)
    return StreamingResponse(produced.chunks(), media_type=fmt.media_type, headers=headers)


# -- feed tokens -----------------------------------------------------------------------------


class FeedTokenIn(BaseModel):
    name: str = Field(default="", max_length=120, description="what polls with it (a firewall)")
    user_id: int | None = Field(
        default=None, ge=1, le=2**31 - 1, description="a machine account of your organisation"
    )
    format: str = Field(default="txt", description=FORMAT_HELP)
    query: dict[str, Any] = Field(default_factory=dict, description="filters for the URL")


class FeedTokenOut(BaseModel):
    public_id: str
    name: str
    user: str
    created_at: UtcDatetime
    last_used_at: UtcDatetime | None
    revoked: bool


class IssuedOut(FeedTokenOut):
    token: str = Field(description="shown once: put it in the poller's URL or header")
    url: str = Field(description="the feed URL with this token")


def _out(row: feed_tokens.FeedToken, user_name: str) -> dict[str, Any]:
    return {
        "public_id": row.public_id,
        "name": row.name,
        "user": user_name,
        "created_at": row.created_at,
        "last_used_at": row.last_used_at,
        "revoked": row.revoked_at is not None,
    }


def feed_url(base: str, fmt: Format, token: str, query: dict[str, Any]) -> str:
    pairs: list[tuple[str, str]] = []
    for key, value in sorted(query.items()):
        for one in value if isinstance(value, list) else [value]:
            if one is None or one == "" or one is False:
                continue
            pairs.append((key, "true" if one is True else str(one)))
    pairs.append(("token", token))
    return f"{base.rstrip('/')}/feeds/{fmt.name}?{urlencode(pairs)}"


@router.post("/api/feed-tokens", status_code=201, response_model=IssuedOut)
def issue_feed_token(
    body: FeedTokenIn, principal: CurrentPrincipal, session: SessionDep, node: NodeDep
) -> dict[str, Any]:
    fmt = get_format(body.format)
    unknown = set(body.query) - FILTER_NAMES
    if unknown:
        raise InvalidInput(f"unknown feed filters: {', '.join(sorted(unknown))}")
    issued = feed_tokens.issue(
        session, principal, user_id=body.user_id or principal.user_id, name=body.name
    )
    session.commit()
    user = session.get(User, issued.row.user_id)
    return {
        **_out(issued.row, user.name if user else ""),
        "token": issued.token,
        "url": feed_url(node.settings.public_url, fmt, issued.token, body.query),
    }


@router.get("/api/feed-tokens", response_model=list[FeedTokenOut])
def list_feed_tokens(principal: CurrentPrincipal, session: SessionDep) -> list[dict[str, Any]]:
    rows = feed_tokens.list_feed_tokens(session, principal)
    return [_out(t, u.name) for t, u in rows]


@router.delete("/api/feed-tokens/{public_id}", status_code=204)
def revoke_feed_token(public_id: str, principal: CurrentPrincipal, session: SessionDep) -> Response:
    feed_tokens.revoke(session, principal, public_id)
    session.commit()
    return Response(status_code=204)
