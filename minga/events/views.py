"""REST: `GET /api/stream`, the caller's Server-Sent Events (an API token).

The web UI reads the same stream at `/live` with its session cookie (`minga.events.pages`):
API tokens and web sessions stay apart by design (`minga.web.signin`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, FastAPI, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from minga.api.deps import authenticate, get_node, token_from
from minga.errors import MingaError
from minga.events.hub import Hub
from minga.events.stream import EVENTS, BadFilter, StreamFilters, parse_filters
from minga.events.wake import Chorus, chorus_folder
from minga.events.watch import watchlist
from minga.policy import Principal


def hub_of(app: FastAPI) -> Hub:
    """This process's stream hub (made at first use; it starts with its first reader)."""
    hub: Hub | None = getattr(app.state, "stream_hub", None)
    if hub is None:
        node = app.state.node
        settings = node.settings
        chorus = Chorus(chorus_folder(settings.database_url, settings.node_name))
        hub = Hub(
            node.sessions,
            poll=settings.stream_poll_seconds,
            queue=settings.stream_queue,
            chorus=chorus,
        )
        app.state.stream_hub = hub
    return hub


@asynccontextmanager
async def stream_hub(app: FastAPI) -> AsyncIterator[None]:
    """While the node serves; the tailer stops with it."""
    try:
        yield
    finally:
        hub: Hub | None = getattr(app.state, "stream_hub", None)
        if hub is not None:
            await hub.stop()


router = APIRouter(tags=["events"], lifespan=stream_hub)

EventsQ = Annotated[
    list[str],
    Query(description=f"Which messages (repeat or comma-separate): {', '.join(EVENTS)}."),
]
TypesQ = Annotated[
    list[str], Query(description="Only objects of these STIX types (repeat or comma-separate).")
]
MaxTlpQ = Annotated[
    str | None, Query(description="The highest TLP delivered: clear, green, amber, amber+strict.")
]
MinScoreQ = Annotated[
    str | None, Query(description="Indicators only at or above this score (0 to 100).")
]
AfterQ = Annotated[
    str | None,
    Query(description="Resume after this event seq (the Last-Event-ID header wins if sent)."),
]


def resume_point(last_event_id: str | None, after: str | None) -> int | None:
    """Where a reader resumes: the Last-Event-ID header (a reconnect), else `?after=`."""
    value = last_event_id if last_event_id not in (None, "") else after
    if value is None or value == "":
        return None
    if not value.strip().isdigit():
        raise BadFilter(f"Last-Event-ID and after are event seqs (whole numbers), not {value!r}")
    return int(value.strip())


def filters_of(
    events: list[str], types: list[str], max_tlp: str | None, min_score: str | None
) -> StreamFilters:
    return parse_filters(events=events, types=types, max_tlp=max_tlp, min_score=min_score)


def with_watchlist(request: Request, filters: StreamFilters, principal: Principal) -> StreamFilters:
    """`watched=true`: the reader's watch list as it stands when the stream opens."""
    with get_node(request).sessions() as session:
        return replace(filters, watchlist=watchlist(session, principal.user_id))


def sse(
    request: Request,
    principal: Principal,
    filters: StreamFilters,
    after: int | None,
    still_valid: Callable[[], bool],
) -> StreamingResponse:
    node = get_node(request)
    body = hub_of(request.app).follow(
        principal,
        filters,
        after,
        keepalive=node.settings.stream_keepalive_seconds,
        still_valid=still_valid,
    )
    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(body, media_type="text/event-stream", headers=headers)


def _token_principal(request: Request) -> tuple[Principal, Callable[[], bool]]:
    node = get_node(request)
    with node.sessions() as session:
        principal = authenticate(request, session)
    token = token_from(request)

    def still_valid() -> bool:
        with node.sessions() as session:
            try:
                return token is not None and node.verifier.verify(session, token) is not None
            except MingaError:
                return False

    return principal, still_valid


@router.get(
    "/api/stream",
    summary="Your live events (Server-Sent Events): objects, sightings, jobs, incidents",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def stream(
    request: Request,
    events: EventsQ = [],  # noqa: B006 (FastAPI copies defaults)
    types: TypesQ = [],  # noqa: B006
    max_tlp: MaxTlpQ = None,
    min_score: MinScoreQ = None,
    after: AfterQ = None,
    watched: Annotated[
        bool, Query(description="Only objects your watch list answers (and notifications).")
    ] = False,
    last_event_id: Annotated[str | None, Header()] = None,
) -> StreamingResponse:
    """Every event you may see, as it commits: `id:` is its seq (resume with Last-Event-ID),
    `event:` one of object, revoked, sighting, job, incident, notification; `data:` JSON.
    A reader that falls too far behind gets an `end` message and resumes from its id."""
    filters = filters_of(events, types, max_tlp, min_score)
    start = resume_point(last_event_id, after)
    principal, still_valid = await run_in_threadpool(_token_principal, request)
    if watched:
        filters = await run_in_threadpool(with_watchlist, request, filters, principal)
    return sse(request, principal, filters, start, still_valid)
