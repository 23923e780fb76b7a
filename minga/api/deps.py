"""Dependencies: a database session per request and the calling principal."""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Annotated, TypeVar

from annotated_types import Interval
from fastapi import Depends, Request
from pydantic import AwareDatetime, BeforeValidator, Strict
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from minga.app import Node
from minga.errors import Unauthenticated
from minga.policy import Principal

log = logging.getLogger("minga")

# Row ids are 32-bit INTEGER columns on PostgreSQL: a larger number can name nothing, and must be
# refused at the edge (422) instead of overflowing the database driver (a 500).
DB_ID_MAX = 2**31 - 1
DbId = Annotated[int, Interval(ge=1, le=DB_ID_MAX)]
"""A row id in a path, a query or a form: a whole number from 1 to 2**31 - 1.

`org_id: DbId` in a path; `owner: Annotated[DbId | None, Query(description=...)] = None` in a
query (the bounds stay on the type, so each parameter keeps its own description)."""
StrictDbId = Annotated[DbId, Strict()]
"""A row id in a JSON body: a JSON number only ("1", 1.5 and true are refused with a 422)."""


def _utc(value: object) -> object:
    # SQLite hands back naive datetimes for UTC columns, PostgreSQL its session's time zone;
    # an answer always says UTC.
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value


UtcDatetime = Annotated[AwareDatetime, BeforeValidator(_utc)]
"""A timestamp in a response: always in UTC, with its time zone (the database may drop it)."""


def get_node(request: Request) -> Node:
    node: Node = request.app.state.node
    return node


async def node_dependency(request: Request) -> Node:
    """The node, for `NodeDep`: async, so FastAPI does not send it to the thread pool."""
    return get_node(request)


async def get_session(request: Request) -> AsyncIterator[Session]:
    """A session for the request. Write handlers commit; anything uncommitted is rolled back.

    Async, so that it costs no trip through the thread pool: making the session does no I/O (a
    connection is taken at its first query, in the handler's thread); ending it is a few
    microseconds in-process on SQLite, but a round trip to PostgreSQL, which goes to a thread."""
    node = get_node(request)
    session = node.sessions()
    try:
        yield session
    finally:
        if node.engine.dialect.name == "sqlite":
            _end(session)
        else:
            await run_in_threadpool(_end, session)


def _end(session: Session) -> None:
    session.rollback()
    session.close()


SessionDep = Annotated[Session, Depends(get_session)]
NodeDep = Annotated[Node, Depends(node_dependency)]


def token_from(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    if scheme.lower() == "basic" and value.strip():
        # TAXII clients send HTTP Basic: any user name, the API token as password.
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise Unauthenticated("the Basic credentials are not valid base64") from None
        return decoded.partition(":")[2] or None
    return None


def authenticate(request: Request, session: Session) -> Principal:
    """The principal of an API token; `minga.web` adds its session cookie on top of this."""
    cached = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    token = token_from(request)
    if token is None:
        raise Unauthenticated("send an API token: Authorization: Bearer <token>")
    verifier = get_node(request).verifier
    verified = verifier.verify(session, token)
    if verified.upgrade_from is not None:  # a token from before keyed hashes: store its HMAC
        try:
            verifier.upgrade(session, verified, token)
            session.commit()
        except OperationalError as exc:  # a busy writer: its next use tries again
            session.rollback()
            log.warning("could not store the keyed hash of a token yet: %s", exc.orig)
    request.state.principal = verified.principal
    return verified.principal


async def current_principal(request: Request, session: SessionDep) -> Principal:
    """Async: on SQLite a keyed-hash token is checked on the event loop (microseconds, on the
    verifier's own connection), which saves the request a trip through the thread pool; any
    other check (PostgreSQL, a token still argon2-hashed) goes to a thread."""
    found = _principal_here(request, get_node(request))
    if found is not None:
        return found
    return await run_in_threadpool(authenticate, request, session)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


async def request_principal(request: Request) -> Principal:
    """The caller, for handlers that take no `SessionDep` (their reads go through `read`).

    A keyed-hash token on SQLite is checked on the event loop; any other check (PostgreSQL, a
    token still argon2-hashed) goes to a thread, on a session of its own (`read_as` shares it
    with the handler's read)."""
    node = get_node(request)
    found = _principal_here(request, node)
    if found is not None:
        return found

    def check() -> Principal:
        with node.sessions() as session:
            return authenticate(request, session)

    return await run_in_threadpool(check)


def _principal_here(request: Request, node: Node) -> Principal | None:
    """The caller as known without a trip to a thread: already checked for this request, or a
    keyed-hash token checked on SQLite on the event loop; None where a thread must check."""
    cached: Principal | None = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    token = token_from(request)
    if token is None:
        raise Unauthenticated("send an API token: Authorization: Bearer <token>")
    verified = node.verifier.verify_here(node.engine, token)
    if verified is None:
        return None
    request.state.principal = verified.principal
    return verified.principal


RequestPrincipal = Annotated[Principal, Depends(request_principal)]
T = TypeVar("T")


async def read(node: Node, work: Callable[[Session], T]) -> T:
    """`work(session)` for a read-only answer, its session ended (never committed) after it.

    On SQLite in a file it runs right here on the event loop, on the node's loop engine: an
    indexed read is a fraction of a millisecond, less than the trip through the thread pool
    it saves. Anywhere else (PostgreSQL: network round trips) it runs in a thread. `work` must
    only read, and only short indexed reads: while it runs, this process answers nothing else."""
    factory = node.loop_sessions
    if factory is not None:
        with factory() as session:
            return work(session)

    def threaded() -> T:
        with (node.read_sessions or node.sessions)() as session:
            return work(session)

    return await run_in_threadpool(threaded)


async def read_as(
    request: Request,
    node: Node,
    work: Callable[[Session, Principal], T],
    *,
    long: Callable[[Principal], bool] | None = None,
) -> T:
    """`read` for a handler that takes no principal: `work(session, caller)`.

    Where the token is checked on the event loop (SQLite), this is `read` after that check
    (in a thread instead when `long(caller)` says the work is no short read). Elsewhere
    (PostgreSQL) the check and the work share one thread and one session: one trip through
    the thread pool and one pooled connection per request instead of two of each (the token's
    own session, ended with a rollback, was a round trip more)."""
    principal = _principal_here(request, node)
    if principal is not None and (long is None or not long(principal)):
        known = principal
        return await read(node, lambda session: work(session, known))

    def threaded() -> T:
        with (node.read_sessions or node.sessions)() as session:
            caller = principal if principal is not None else authenticate(request, session)
            return work(session, caller)

    return await run_in_threadpool(threaded)
