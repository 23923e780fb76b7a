"""What every page handler shares: the template environment, the request context, error pages.

Pages use `PageRoute`, which turns a missing sign-in into a redirect and domain errors into an
HTML error page (the JSON API keeps its own handlers).
"""

from __future__ import annotations

import gettext as gettext_module
from collections.abc import Callable, Coroutine
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from babel.numbers import format_decimal
from fastapi import Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from minga.accounts import service as accounts
from minga.api.deps import get_node, get_session
from minga.api.errors import status_of
from minga.errors import MingaError
from minga.policy import Action, Principal, may
from minga.web import auth, i18n, labels

CURRENT_LANG: ContextVar[str] = ContextVar("minga_lang")


class SignInRequired(Exception):
    """No valid web session: the page redirects to the sign-in form."""


class CsrfFailed(Exception):
    """A form came back without the token of the session that showed it."""


@dataclass
class WebState:
    """Built once per app: templates, compiled catalogs and the cookie-signing key."""

    env: Environment
    catalogs: dict[str, gettext_module.NullTranslations]
    key: bytes


def build_state(key: bytes) -> WebState:
    env = Environment(
        loader=PackageLoader("minga.web", "templates"),
        autoescape=select_autoescape(["html", "svg"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.filters["number"] = _number
    env.filters["when"] = when
    env.filters.update(labels.FILTERS)
    return WebState(env, i18n.load_catalogs(), key)


def when(us: int | None) -> str:
    """A date_added (µs since the epoch) as a short UTC time."""
    if not us:
        return ""
    return datetime.fromtimestamp(us / 1_000_000, tz=UTC).strftime("%Y-%m-%d %H:%M")


def _number(value: int) -> str:
    return format_decimal(value, locale=CURRENT_LANG.get(i18n.FALLBACK))


def web_state(request: Request) -> WebState:
    state: WebState = request.app.state.web
    return state


@dataclass
class Ctx:
    """One page request: who asks, in which language, with which database session."""

    request: Request
    session: Session
    web: WebState
    lang: str
    principal: Principal | None = None
    org_name: str = ""
    binding: str = ""  # what the CSRF token is bound to
    form: FormData | None = None
    cookies: dict[str, str] = field(default_factory=dict)

    def t(self, message: str) -> str:
        """`message` translated into the page's language."""
        return self.web.catalogs[self.lang].gettext(message)

    def activate(self) -> None:
        # Dependencies and handlers may run in different worker threads: set it where used.
        i18n.activate(self.web.catalogs[self.lang])
        CURRENT_LANG.set(self.lang)

    @property
    def csrf(self) -> str:
        return auth.csrf_token(self.web.key, self.binding)

    @property
    def me(self) -> Principal:
        if self.principal is None:
            raise SignInRequired()
        return self.principal

    def field(self, name: str, default: str = "") -> str:
        value = self.form.get(name) if self.form is not None else None
        return value.strip() if isinstance(value, str) else default

    def fields(self, name: str) -> list[str]:
        if self.form is None:
            return []
        return [v.strip() for v in self.form.getlist(name) if isinstance(v, str) and v.strip()]


def _setup(request: Request, session: Session, form: FormData | None) -> Ctx:
    web = web_state(request)
    lang = i18n.pick_language(
        request.query_params.get("lang"),
        request.cookies.get(i18n.COOKIE),
        request.headers.get("accept-language"),
    )
    return Ctx(request, session, web, lang, form=form)


async def _form(request: Request) -> FormData | None:
    return await request.form() if request.method == "POST" else None


FormDep = Annotated[FormData | None, Depends(_form)]


def signed_in(
    request: Request, session: Annotated[Session, Depends(get_session)], form: FormDep
) -> Ctx:
    """The context of a page that needs a signed-in user (POSTs must carry the CSRF token)."""
    ctx = _setup(request, session, form)
    web_session = auth.read_cookie(ctx.web.key, request.cookies.get(auth.SESSION_COOKIE))
    principal = auth.principal_of(session, web_session) if web_session else None
    if web_session is None or principal is None:
        raise SignInRequired()
    ctx.principal = principal
    ctx.binding = web_session.cookie
    ctx.org_name = accounts.get_organisation(session, principal.org_id).name
    if form is not None and not auth.csrf_ok(ctx.web.key, ctx.binding, ctx.field("csrf")):
        raise CsrfFailed()
    return ctx


def anonymous(
    request: Request, session: Annotated[Session, Depends(get_session)], form: FormDep
) -> Ctx:
    """The context of the sign-in page, whose form is bound to a pre-session cookie."""
    ctx = _setup(request, session, form)
    ctx.binding = request.cookies.get(auth.PRE_COOKIE) or ""
    if form is not None and not auth.csrf_ok(ctx.web.key, ctx.binding, ctx.field("csrf")):
        raise CsrfFailed()
    return ctx


Page = Annotated[Ctx, Depends(signed_in)]
Public = Annotated[Ctx, Depends(anonymous)]


def render(ctx: Ctx, template: str, status: int = 200, **values: Any) -> HTMLResponse:
    principal = ctx.principal
    ctx.activate()
    body = ctx.web.env.get_template(template).render(
        lang=ctx.lang,
        languages=i18n.LANGUAGE_NAMES,
        path=ctx.request.url.path,
        query=ctx.request.query_params,
        me=principal,
        org_name=ctx.org_name,
        csrf=ctx.csrf if ctx.binding else "",
        can_publish=principal is not None and may(principal, Action.PUBLISH),
        can_manage_users=principal is not None and may(principal, Action.MANAGE_USERS),
        can_manage_orgs=principal is not None and may(principal, Action.MANAGE_ORGS),
        can_manage_groups=principal is not None and may(principal, Action.MANAGE_GROUPS),
        can_manage_peers=principal is not None and may(principal, Action.MANAGE_PEERS),
        url_with=lambda **kw: _url_with(ctx.request, **kw),
        **values,
    )
    response = HTMLResponse(body, status)
    remember_language(ctx.request, response)
    for name, value in ctx.cookies.items():
        set_cookie(ctx.request, response, name, value)
    return response


def redirect(ctx: Ctx, url: str) -> RedirectResponse:
    response = RedirectResponse(url, 303)
    remember_language(ctx.request, response)
    return response


def _url_with(request: Request, **changes: Any) -> str:
    """The current URL with some query parameters changed (None removes one)."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k not in changes]
    for key, value in changes.items():
        if value is None:
            continue
        values = value if isinstance(value, list) else [value]
        params.extend((key, str(v)) for v in values)
    return request.url.path + ("?" + urlencode(params) if params else "")


def remember_language(request: Request, response: Response) -> None:
    lang = request.query_params.get("lang")
    if lang in i18n.LANGUAGES and request.cookies.get(i18n.COOKIE) != lang:
        response.set_cookie(
            i18n.COOKIE, lang, max_age=365 * 86400, samesite="lax", path="/", httponly=True
        )


def set_cookie(request: Request, response: Response, name: str, value: str) -> None:
    if value:
        response.set_cookie(
            name,
            value,
            max_age=auth.MAX_AGE,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
            path="/",
        )
    else:
        response.delete_cookie(name, path="/")


def error_page(request: Request, status: int, kind: str, message: str = "") -> HTMLResponse:
    """An error page that needs no database and no sign-in."""
    web = web_state(request)
    lang = i18n.pick_language(
        request.query_params.get("lang"),
        request.cookies.get(i18n.COOKIE),
        request.headers.get("accept-language"),
    )
    i18n.activate(web.catalogs[lang])
    CURRENT_LANG.set(lang)
    body = web.env.get_template("error.html").render(
        lang=lang,
        languages=i18n.LANGUAGE_NAMES,
        path=request.url.path,
        query=request.query_params,
        me=None,
        error_status=status,
        kind=kind,
        message=message,
        url_with=lambda **kw: _url_with(request, **kw),
    )
    return HTMLResponse(body, status)


def error_page_signed_in(request: Request, status: int, kind: str, message: str = "") -> Response:
    """The error page with the navigation of the signed-in user (the analyst keeps their way
    around); without a live session, or when the database cannot say, the bare error page."""
    web_session = auth.read_cookie(web_state(request).key, request.cookies.get(auth.SESSION_COOKIE))
    if web_session is None:
        return error_page(request, status, kind, message)
    session = get_node(request).sessions()
    try:
        ctx = _setup(request, session, None)
        principal = auth.principal_of(session, web_session)
        if principal is None:
            return error_page(request, status, kind, message)
        ctx.principal = principal
        ctx.binding = web_session.cookie
        ctx.org_name = accounts.get_organisation(session, principal.org_id).name
        return render(ctx, "error.html", status, error_status=status, kind=kind, message=message)
    except SQLAlchemyError:
        return error_page(request, status, kind, message)
    finally:
        session.close()


class PageRoute(APIRoute):
    """Routes whose failures are pages: sign-in redirects and HTML error pages, never JSON."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await original(request)
            except SignInRequired:
                target = request.url.path
                if request.method == "GET" and request.url.query:
                    target += "?" + request.url.query
                response = RedirectResponse("/signin?" + urlencode({"next": target}), 303)
                if request.cookies.get(auth.SESSION_COOKIE):
                    response.delete_cookie(auth.SESSION_COOKIE, path="/")
                return response
            except CsrfFailed:
                return error_page(request, 403, "csrf")
            except MingaError as exc:
                return await run_in_threadpool(
                    error_page_signed_in, request, status_of(exc), exc.code, exc.message
                )
            except RequestValidationError:
                return error_page(request, 422, "invalid")

        return handler


def node_name(request: Request) -> str:
    return get_node(request).settings.node_name
