"""Web: `/live`, the signed-in person's stream (the same as `GET /api/stream`, with the web
session instead of an API token), which the dashboard and the objects list follow."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from minga.api.deps import get_node
from minga.errors import Unauthenticated
from minga.events.views import (
    AfterQ,
    EventsQ,
    MaxTlpQ,
    MinScoreQ,
    TypesQ,
    filters_of,
    resume_point,
    sse,
)
from minga.policy import Principal
from minga.web import auth
from minga.web.render import web_state

router = APIRouter(include_in_schema=False)


def _session_principal(request: Request) -> tuple[Principal, Callable[[], bool]]:
    web = auth.read_cookie(web_state(request).key, request.cookies.get(auth.SESSION_COOKIE))
    node = get_node(request)
    with node.sessions() as session:
        principal = auth.principal_of(session, web) if web is not None else None
    if web is None or principal is None:
        raise Unauthenticated("sign in to follow the live stream")
    cookie = web

    def still_valid() -> bool:  # ending the session, or disabling the person, ends the stream
        with node.sessions() as session:
            return auth.principal_of(session, cookie) is not None

    return principal, still_valid


@router.get("/live")
async def live(
    request: Request,
    events: EventsQ = [],  # noqa: B006 (FastAPI copies defaults)
    types: TypesQ = [],  # noqa: B006
    max_tlp: MaxTlpQ = None,
    min_score: MinScoreQ = None,
    after: AfterQ = None,
    last_event_id: Annotated[str | None, Header()] = None,
) -> StreamingResponse:
    filters = filters_of(events, types, max_tlp, min_score)
    start = resume_point(last_event_id, after)
    principal, still_valid = await run_in_threadpool(_session_principal, request)
    return sse(request, principal, filters, start, still_valid)
