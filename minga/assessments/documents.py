"""Standalone HTML documents (situation reports, assessment reports) rendered outside a request
in es, pt or en, with the web UI's templates and catalogs; the PDF is made from the same HTML
(`minga.reports.pdf`, offline)."""

from __future__ import annotations

import threading
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


def activate(lang: str) -> None:
    """Translate what follows (chart titles made in Python, then the template) into `lang`."""
    i18n.activate(_state()["catalogs"][language(lang)])


def render(template: str, lang: str, **values: Any) -> str:
    activate(lang)
    env: Environment = _state()["env"]
    return env.get_template(template).render(lang=language(lang), **values)


def pdf(html: str) -> bytes:
    return html_to_pdf(html)
