"""Standalone HTML documents (situation reports, assessment reports) rendered outside a request
in es, pt or en, with the web UI's templates and catalogs; the PDF is made from the same HTML
(`minga.reports.pdf`, offline)."""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from minga.reports.pdf import html_to_pdf
from minga.web import i18n

_LOCK = threading.Lock()
_STATE: dict[str, Any] = {}


def _state() -> dict[str, Any]:
    with _LOCK:
        if not _STATE:
            env = Environment(
                loader=PackageLoader("minga.web", "templates"),
                autoescape=select_autoescape(["html"]),
                extensions=["jinja2.ext.i18n"],
            )
            env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
            _STATE["env"] = env
            _STATE["catalogs"] = i18n.load_catalogs()
        return _STATE


def language(lang: str) -> str:
    return lang if lang in i18n.LANGUAGES else i18n.FALLBACK


def gettext_for(lang: str) -> Callable[[str], str]:
    """The translation of `lang`, for what is written in Python (chart titles)."""
    translate: Callable[[str], str] = _state()["catalogs"][language(lang)].gettext
    return translate


def render(template: str, lang: str, **values: Any) -> str:
    """The template in `lang`; the language is switched in a copy of the caller's context, so
    nothing else the caller (a CLI command, a scheduler thread) translates changes."""
    return contextvars.copy_context().run(_render, template, language(lang), values)


def _render(template: str, lang: str, values: dict[str, Any]) -> str:
    i18n.activate(_state()["catalogs"][lang])
    env: Environment = _state()["env"]
    return env.get_template(template).render(lang=lang, **values)


def pdf(html: str) -> bytes:
    return html_to_pdf(html)
