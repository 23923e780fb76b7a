"""Sign-in pages: password, then the TOTP code (or its enrolment), or an OpenID Connect provider.

API tokens no longer open web sessions: they stay for machines and scripts (REST, TAXII).
Every form here is bound to the pre-session cookie (`auth.PRE_COOKIE`); failed passwords and
codes count against the account name and the client address (`signin.Limits`), and past the
limit the answer is 429 with Retry-After before any password is checked.
"""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from minga.accounts import oidc, signin, websessions
from minga.accounts import service as accounts
from minga.accounts.models import User
from minga.accounts.models import WebSession as SessionRow
from minga.api.deps import get_node
from minga.audit import record
from minga.settings import Settings
from minga.web import auth
from minga.web.account import raw
from minga.web.render import Ctx, Page, PageRoute, Public, redirect, render, set_cookie

router = APIRouter(route_class=PageRoute, include_in_schema=False)
FLOW_SECONDS = 600  # an OIDC round trip must come back within ten minutes


def safe_next(target: str) -> str:
    """Only local paths: an open redirect would turn the sign-in page into a phishing aid."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def limits(settings: Settings) -> signin.Limits:
    return signin.Limits(
        settings.signin_max_failures,
        settings.signin_max_address_failures,
        settings.signin_window_seconds,
    )


def address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _settings(ctx: Ctx) -> Settings:
    return get_node(ctx.request).settings


def _page(ctx: Ctx, template: str, status: int = 200, **values: Any) -> HTMLResponse:
    if not ctx.binding:
        ctx.binding = secrets.token_urlsafe(24)
        ctx.cookies[auth.PRE_COOKIE] = ctx.binding
    settings = _settings(ctx)
    return render(
        ctx,
        template,
        status,
        oidc_label=(settings.oidc_label or settings.oidc_issuer) if oidc.enabled(settings) else "",
        **values,
    )


def _limited(ctx: Ctx, template: str, wait: int, **values: Any) -> HTMLResponse:
    response = _page(ctx, template, 429, error="limited", minutes=max(1, -(-wait // 60)), **values)
    response.headers["Retry-After"] = str(wait)
    return response


def _pending(ctx: Ctx, stage: str) -> tuple[SessionRow, User] | None:
    """The half-signed-in session and its user, when it waits for `stage` (code or enrol)."""
    web = auth.read_cookie(ctx.web.key, ctx.request.cookies.get(auth.SESSION_COOKIE))
    found = auth.pending(ctx.session, web) if web is not None else None
    return found if found is not None and found[0].stage == stage else None


def _signed_in(ctx: Ctx, response: Response, key: str) -> Response:
    set_cookie(ctx.request, response, auth.SESSION_COOKIE, auth.issue_cookie(ctx.web.key, key))
    response.delete_cookie(auth.PRE_COOKIE, path="/")
    response.delete_cookie(auth.OIDC_COOKIE, path="/")
    return response


@router.get("/signin", response_class=HTMLResponse)
def signin_form(ctx: Public, next: str = "/") -> Response:
    web = auth.read_cookie(ctx.web.key, ctx.request.cookies.get(auth.SESSION_COOKIE))
    if web is not None and auth.principal_of(ctx.session, web) is not None:
        return redirect(ctx, safe_next(next))
    return _page(ctx, "signin.html", next=safe_next(next), error=None, name="")


@router.post("/signin", response_class=HTMLResponse)
def signin_password(ctx: Public, request: Request) -> Response:
    name = ctx.field("name")[:120]
    target = safe_next(ctx.field("next", "/"))
    settings = _settings(ctx)
    rules, where = limits(settings), address(request)
    wait = signin.retry_after(ctx.session, name, where, rules)
    if wait:
        return _limited(ctx, "signin.html", wait, next=target, name=name)
    user = signin.check_password(ctx.session, name, raw(ctx, "password"))
    if user is None:
        signin.record_failure(ctx.session, name, where, rules)
        ctx.session.commit()
        return _page(ctx, "signin.html", 401, next=target, error="bad-password", name=name)
    stage = "code" if signin.has_totp(ctx.session, user.id) else "enrol"
    opened = websessions.open_session(
        ctx.session,
        user.id,
        stage=stage,
        method="password",
        address=where,
        user_agent=request.headers.get("user-agent", ""),
        hours=settings.session_hours,
    )
    ctx.session.commit()
    response = redirect(ctx, f"/signin/{stage}?" + urlencode({"next": target}))
    set_cookie(request, response, auth.SESSION_COOKIE, auth.issue_cookie(ctx.web.key, opened.key))
    return response


@router.get("/signin/code", response_class=HTMLResponse)
def code_form(ctx: Public, next: str = "/") -> Response:
    found = _pending(ctx, "code")
    if found is None:
        return redirect(ctx, "/signin")
    return _page(ctx, "signin_code.html", next=safe_next(next), error=None)


@router.post("/signin/code", response_class=HTMLResponse)
def code_check(ctx: Public, request: Request) -> Response:
    target = safe_next(ctx.field("next", "/"))
    found = _pending(ctx, "code")
    if found is None:
        return redirect(ctx, "/signin")
    row, user = found
    rules, where = limits(_settings(ctx)), address(request)
    wait = signin.retry_after(ctx.session, user.name, where, rules)
    if wait:
        return _limited(ctx, "signin_code.html", wait, next=target)
    used = signin.check_second_factor(ctx.session, user.id, ctx.field("code"))
    if used is None:
        signin.record_failure(ctx.session, user.name, where, rules)
        ctx.session.commit()
        return _page(ctx, "signin_code.html", 401, next=target, error="bad-code")
    return _complete(ctx, row, user, target, used=used)


def _complete(
    ctx: Ctx, row: SessionRow, user: User, target: str, *, used: str, codes: list[str] | None = None
) -> Response:
    signin.reset_failures(ctx.session, user.name)
    key = websessions.complete(ctx.session, row, _settings(ctx).session_hours)
    principal = accounts.principal_for(ctx.session, user)
    record(ctx.session, principal, "signin", "user", user.id, method=row.method, factor=used)
    ctx.session.commit()
    if codes:  # shown once, as the answer to the enrolment form
        ctx.principal = principal
        ctx.org_name = accounts.get_organisation(ctx.session, user.org_id).name
        ctx.binding = auth.issue_cookie(ctx.web.key, key)
        response: Response = render(ctx, "recovery_codes.html", codes=codes, next=target)
    else:
        response = redirect(ctx, target)
    return _signed_in(ctx, response, key)


@router.get("/signin/enrol", response_class=HTMLResponse)
def enrol_form(ctx: Public, next: str = "/") -> Response:
    found = _pending(ctx, "enrol")
    if found is None:
        return redirect(ctx, "/signin")
    return _enrol_page(ctx, found[1], safe_next(next), None)


def _enrol_page(ctx: Ctx, user: User, target: str, error: str | None) -> HTMLResponse:
    secret = signin.start_enrolment(ctx.session, user.id)
    ctx.session.commit()
    uri = signin.provisioning_uri(secret, user.name, _settings(ctx).node_name)
    grouped = " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
    status = 200 if error is None else 400
    return _page(
        ctx, "signin_enrol.html", status, next=target, error=error, secret=grouped, uri=uri
    )


@router.post("/signin/enrol", response_class=HTMLResponse)
def enrol_confirm(ctx: Public, request: Request) -> Response:
    target = safe_next(ctx.field("next", "/"))
    found = _pending(ctx, "enrol")
    if found is None:
        return redirect(ctx, "/signin")
    row, user = found
    rules, where = limits(_settings(ctx)), address(request)
    wait = signin.retry_after(ctx.session, user.name, where, rules)
    if wait:
        return _limited(ctx, "signin_enrol.html", wait, next=target, secret="", uri="")
    codes = signin.confirm_enrolment(ctx.session, user.id, ctx.field("code"))
    if codes is None:
        signin.record_failure(ctx.session, user.name, where, rules)
        ctx.session.commit()
        return _enrol_page(ctx, user, target, "bad-code")
    record(ctx.session, None, "user.totp_enrol", "user", user.id)
    return _complete(ctx, row, user, target, used="totp", codes=codes)


@router.post("/signout")
def signout(ctx: Page) -> RedirectResponse:
    web = auth.read_cookie(ctx.web.key, ctx.request.cookies.get(auth.SESSION_COOKIE))
    found = auth.current(ctx.session, web) if web is not None else None
    if found is not None:
        websessions.end(ctx.session, found[1].id, found[0].id)
        ctx.session.commit()
    response = redirect(ctx, "/signin")
    response.delete_cookie(auth.SESSION_COOKIE, path="/")
    return response


# --- OpenID Connect: Authorization Code with PKCE; state and nonce in a sealed cookie ---


def _callback_url(ctx: Ctx) -> str:
    configured = _settings(ctx).oidc_redirect_url
    return configured or str(ctx.request.url_for("oidc_callback"))


@router.get("/signin/oidc")
def oidc_start(ctx: Public, next: str = "/") -> Response:
    settings = _settings(ctx)
    if not oidc.enabled(settings):
        return _page(ctx, "signin.html", 404, next="/", error="no-oidc", name="")
    try:
        flow = oidc.begin(oidc.config_of(settings), _callback_url(ctx))
    except oidc.ProviderError:
        return _page(ctx, "signin.html", 502, next="/", error="oidc-down", name="")
    response = RedirectResponse(flow.url, 303)
    sealed = auth.seal(ctx.web.key, "oidc", {**flow.secrets(), "next": safe_next(next)})
    response.set_cookie(
        auth.OIDC_COOKIE,
        sealed,
        max_age=FLOW_SECONDS,
        httponly=True,
        samesite="lax",
        secure=ctx.request.url.scheme == "https",
        path="/",
    )
    return response


@router.get("/signin/oidc/callback", name="oidc_callback")
def oidc_callback(ctx: Public, request: Request) -> Response:
    settings = _settings(ctx)
    flow = auth.unseal(ctx.web.key, "oidc", request.cookies.get(auth.OIDC_COOKIE), FLOW_SECONDS)
    if not oidc.enabled(settings) or flow is None:
        return _page(ctx, "signin.html", 400, next="/", error="oidc-failed", name="")
    params = dict(request.query_params)
    try:
        claims = oidc.finish(oidc.config_of(settings), flow, params, _callback_url(ctx))
        user = oidc.user_for(ctx.session, oidc.config_of(settings), claims)
    except oidc.ProviderError:
        return _page(ctx, "signin.html", 502, next="/", error="oidc-down", name="")
    except oidc.Refused:
        return _page(ctx, "signin.html", 400, next="/", error="oidc-failed", name="")
    except oidc.UnknownSubject as exc:
        record(ctx.session, None, "signin.oidc_unknown", "oidc", exc.subject)
        ctx.session.commit()
        return _page(ctx, "signin_unknown.html", 403, value=exc.value)
    opened = websessions.open_session(
        ctx.session,
        user.id,
        stage="complete",
        method="oidc",
        address=address(request),
        user_agent=request.headers.get("user-agent", ""),
        hours=settings.session_hours,
    )
    principal = accounts.principal_for(ctx.session, user)
    record(ctx.session, principal, "signin", "user", user.id, method="oidc")
    ctx.session.commit()
    return _signed_in(ctx, redirect(ctx, safe_next(str(flow.get("next", "/")))), opened.key)
