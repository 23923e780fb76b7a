"""What every public page shares: the reader's language (from `?lang=` or the browser, never a
cookie), the template environment, security headers (no external script, font or frame), and the
switch that turns the public site off (`MINGA_PUBLIC_SITE=false`: every public path is a 404)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session

from minga.api.deps import get_node, get_session
from minga.api.errors import status_of
from minga.errors import MingaError, NotFound
from minga.web import i18n
from minga.web.render import CURRENT_LANG, WebState, _url_with, web_state

# Only this node's own style sheet; no script at all; nothing may frame the pages.
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


class SiteOff(Exception):
    """The public site is turned off on this node."""


@dataclass
class Reader:
    """One public request: its language and database session; nobody is signed in."""

    request: Request
    session: Session
    web: WebState
    lang: str
    site_name: str
    public_url: str

    def t(self, message: str) -> str:
        return self.web.catalogs[self.lang].gettext(message)

    def activate(self) -> None:
        i18n.activate(self.web.catalogs[self.lang])
        CURRENT_LANG.set(self.lang)


def language(request: Request) -> str:
    return i18n.pick_language(
        request.query_params.get("lang"), None, request.headers.get("accept-language")
    )


def reader(request: Request, session: Annotated[Session, Depends(get_session)]) -> Reader:
    settings = get_node(request).settings
    if not settings.public_site:
        raise SiteOff()
    return Reader(
        request,
        session,
        web_state(request),
        language(request),
        settings.node_name,
        settings.public_url,
    )


ReaderDep = Annotated[Reader, Depends(reader)]


def render(reader: Reader, template: str, status: int = 200, **values: Any) -> HTMLResponse:
    reader.activate()
    body = reader.web.env.get_template(template).render(
        lang=reader.lang,
        languages=i18n.LANGUAGE_NAMES,
        path=reader.request.url.path,
        site_name=reader.site_name,
        url_with=lambda **kw: _url_with(reader.request, **kw),
        **values,
    )
    return HTMLResponse(body, status, headers=HEADERS)


def secured(response: Response) -> Response:
    response.headers.update(HEADERS)
    return response


def _error(request: Request, status: int, message: str) -> Response:
    web = web_state(request)
    lang = language(request)
    i18n.activate(web.catalogs[lang])
    CURRENT_LANG.set(lang)
    body = web.env.get_template("advisories/error.html").render(
        lang=lang,
        languages=i18n.LANGUAGE_NAMES,
        path=request.url.path,
        site_name=get_node(request).settings.node_name,
        status=status,
        message=message,
        url_with=lambda **kw: _url_with(request, **kw),
    )
    return HTMLResponse(body, status, headers=HEADERS)


class PublicRoute(APIRoute):
    """Routes of the public site: failures are public error pages with the same headers."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await original(request)
            except SiteOff:
                return _error(request, 404, "")
            except NotFound:
                return _error(request, 404, "")
            except MingaError as exc:
                return _error(request, status_of(exc), exc.message)
            except RequestValidationError:
                return _error(request, 422, "")

        return handler
