"""Dependencies: a database session per request and the calling principal."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from minga.accounts.service import principal_for
from minga.app import Node
from minga.errors import Unauthenticated
from minga.policy import Principal


def get_node(request: Request) -> Node:
    node: Node = request.app.state.node
    return node


def get_session(request: Request) -> Iterator[Session]:
    """A session for the request. Write handlers commit; anything uncommitted is rolled back."""
    session = get_node(request).sessions()
    try:
        yield session
    finally:
        session.rollback()
        session.close()


SessionDep = Annotated[Session, Depends(get_session)]
NodeDep = Annotated[Node, Depends(get_node)]


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
    user = get_node(request).verifier.verify(session, token)
    principal = principal_for(session, user)
    request.state.principal = principal
    return principal


def current_principal(request: Request, session: SessionDep) -> Principal:
    return authenticate(request, session)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
