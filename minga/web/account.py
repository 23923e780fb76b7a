"""A person's own account: their web sessions (ended at once), password and recovery codes."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from minga.accounts import signin, websessions
from minga.accounts.models import WebSession as SessionRow
from minga.api.deps import get_node
from minga.audit import record
from minga.web import auth
from minga.web.render import Ctx, Page, PageRoute, SignInRequired, redirect, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)


def raw(ctx: Ctx, name: str) -> str:
    """A form field as typed (passwords keep their spaces)."""
    value = ctx.form.get(name) if ctx.form is not None else None
    return value if isinstance(value, str) else ""


def _this_session(ctx: Ctx) -> SessionRow:
    web = auth.read_cookie(ctx.web.key, ctx.request.cookies.get(auth.SESSION_COOKIE))
    found = auth.current(ctx.session, web) if web is not None else None
    if found is None:
        raise SignInRequired()
    return found[0]


@router.get("/account", response_class=HTMLResponse)
@router.get("/account/sessions", response_class=HTMLResponse)
def sessions_page(ctx: Page, ended: int = 0) -> Response:
    this = _this_session(ctx)
    rows = websessions.list_sessions(ctx.session, ctx.me.user_id)
    return render(ctx, "account_sessions.html", rows=rows, this_id=this.id, ended=ended)


@router.post("/account/sessions/{session_id}/end")
def end_one(ctx: Page, session_id: int) -> Response:
    this = _this_session(ctx)
    ended = websessions.end(ctx.session, ctx.me.user_id, session_id)
    if ended:
        record(ctx.session, ctx.me, "session.end", "web_session", session_id)
        ctx.session.commit()
    if session_id == this.id:
        response = redirect(ctx, "/signin")
        response.delete_cookie(auth.SESSION_COOKIE, path="/")
        return response
    return redirect(ctx, f"/account/sessions?ended={int(ended)}")


@router.post("/account/sessions/end-others")
def end_others(ctx: Page) -> Response:
    this = _this_session(ctx)
    count = websessions.end_others(ctx.session, ctx.me.user_id, this.id)
    record(ctx.session, ctx.me, "session.end_others", "user", ctx.me.user_id, count=count)
    ctx.session.commit()
    return redirect(ctx, f"/account/sessions?ended={count}")


def _security(ctx: Ctx, status: int = 200, **values: object) -> HTMLResponse:
    me = ctx.me
    return render(
        ctx,
        "account_security.html",
        status,
        has_password=signin.has_password(ctx.session, me.user_id),
        has_totp=signin.has_totp(ctx.session, me.user_id),
        codes_left=signin.recovery_codes_left(ctx.session, me.user_id),
        min_length=get_node(ctx.request).settings.password_min_length,
        **{"error": None, "done": None, **values},
    )


@router.get("/account/security", response_class=HTMLResponse)
def security_page(ctx: Page) -> Response:
    return _security(ctx)


@router.post("/account/password", response_class=HTMLResponse)
def change_password(ctx: Page) -> Response:
    me = ctx.me
    this = _this_session(ctx)
    if not signin.has_password(ctx.session, me.user_id):
        # People who sign in through OIDC get a password only from their node (CLI): a
        # borrowed single sign-on session must not add a second way in.
        return _security(ctx, 400, error="no-password")
    if signin.check_password(ctx.session, me.user_name, raw(ctx, "current")) is None:
        return _security(ctx, 400, error="bad-current")
    new = raw(ctx, "new")
    if new != raw(ctx, "repeat"):
        return _security(ctx, 400, error="mismatch")
    min_length = get_node(ctx.request).settings.password_min_length
    problem = signin.password_problem(new, me.user_name, min_length)
    if problem is not None:
        return _security(ctx, 400, error=problem)
    signin.set_password(ctx.session, me.user_id, new)
    ended = websessions.end_others(ctx.session, me.user_id, this.id)
    record(ctx.session, me, "user.password", "user", me.user_id, sessions_ended=ended)
    ctx.session.commit()
    return _security(ctx, done="password")


@router.post("/account/recovery-codes", response_class=HTMLResponse)
def renew_recovery_codes(ctx: Page) -> Response:
    me = ctx.me
    if not signin.check_totp(ctx.session, me.user_id, ctx.field("code")):
        return _security(ctx, 400, error="bad-code")
    codes = signin.new_recovery_codes(ctx.session, me.user_id)
    record(ctx.session, me, "user.recovery_codes", "user", me.user_id)
    ctx.session.commit()
    return render(ctx, "recovery_codes.html", codes=codes, next="/account/security")
