"""Joining a node: a person redeems their invitation and chooses a user name and password.

All or nothing: the invitation is claimed, the account made and the password set in one
transaction, committed once; any refusal rolls it back, so the invitation stays unused. The form
is bound to the pre-session cookie like the sign-in forms. A wrong secret counts as a failed
sign-in against the client address (both of the counter's scopes are keyed by the address here,
so probing secrets meets the stricter per-account limit and no real account is locked by it).
The second factor is enrolled at the first sign-in, as for everyone.
"""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from minga.accounts import invitations, signin
from minga.accounts import service as accounts
from minga.api.deps import get_node
from minga.audit import record
from minga.errors import Conflict, InvalidInput
from minga.policy import Role
from minga.web import auth
from minga.web.account import raw
from minga.web.render import Ctx, PageRoute, Public, redirect, render
from minga.web.signin import address, limits

router = APIRouter(route_class=PageRoute, include_in_schema=False)


def _counter_key(where: str) -> str:
    # "|" is never in a user name, so this key is no person's account.
    return f"invitation|{where}"


def _page(ctx: Ctx, status: int = 200, **values: Any) -> HTMLResponse:
    if not ctx.binding:
        ctx.binding = secrets.token_urlsafe(24)
        ctx.cookies[auth.PRE_COOKIE] = ctx.binding
    settings = get_node(ctx.request).settings
    defaults: dict[str, Any] = {"error": None, "secret": "", "name": "", "minutes": 0}
    response = render(
        ctx,
        "invite.html",
        status,
        min_length=settings.password_min_length,
        redeem_api=invitations.REDEEM_API,
        **{**defaults, **values},
    )
    response.headers["Referrer-Policy"] = "no-referrer"  # the URL may carry the secret
    return response


@router.get("/invite", response_class=HTMLResponse)
def invite_form(ctx: Public, secret: str = "") -> Response:
    return _page(ctx, secret=secret[:200])


@router.post("/invite", response_class=HTMLResponse)
def redeem(ctx: Public, request: Request) -> Response:
    secret, name = ctx.field("secret")[:200], ctx.field("name")[:120]
    password = raw(ctx, "password")
    keep = {"secret": secret, "name": name}
    rules, where = limits(get_node(request).settings), address(request)
    wait = signin.retry_after(ctx.session, _counter_key(where), where, rules)
    if wait:
        response = _page(ctx, 429, error="limited", minutes=max(1, -(-wait // 60)), **keep)
        response.headers["Retry-After"] = str(wait)
        return response
    if password != raw(ctx, "repeat"):
        return _page(ctx, 400, error="mismatch", **keep)
    problem = signin.password_problem(
        password, name, get_node(request).settings.password_min_length
    )
    if problem is not None:
        return _page(ctx, 400, error=problem, **keep)
    try:
        user = invitations.redeem_invitation(ctx.session, secret, user_name=name)
    except Conflict:
        ctx.session.rollback()
        return _page(ctx, 409, error="taken", **keep)
    except InvalidInput as exc:
        ctx.session.rollback()
        if exc.message != invitations.UNUSABLE:
            return _page(ctx, 400, error="bad-name", **keep)
        signin.record_failure(ctx.session, _counter_key(where), where, rules)
        ctx.session.commit()
        return _page(ctx, 400, error="unusable", **keep)
    if user.role == Role.MACHINE.value:
        ctx.session.rollback()  # machines get their token from the REST route instead
        return _page(ctx, 400, error="machine", **keep)
    signin.set_password(ctx.session, user.id, password)
    principal = accounts.principal_for(ctx.session, user)
    record(ctx.session, principal, "user.password", "user", user.id, via="invitation")
    ctx.session.commit()
    return redirect(ctx, "/signin")
