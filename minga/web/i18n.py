"""Message catalogs (Babel .po files) and the choice of language for a request.

The catalogs live in `locale/<lang>/LC_MESSAGES/messages.po` (the shell) and one `<domain>.po`
per domain beside it, merged; they are read once at start-up and compiled in memory, so no .mo
build step is needed. Update them with:

    cd minga/web
    pybabel extract -F babel.cfg -k t --no-location --sort-output -o locale/messages.pot .
    pybabel update -i locale/messages.pot -d locale --no-wrap
"""

from __future__ import annotations

import gettext as gettext_module
from contextvars import ContextVar
from importlib import resources
from io import BytesIO

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LANGUAGES = ("es", "pt", "en")
FALLBACK = "en"
LANGUAGE_NAMES = {"es": "Español", "pt": "Português", "en": "English"}
COOKIE = "minga_lang"

_current: ContextVar[gettext_module.NullTranslations] = ContextVar("minga_translations")


def N_(message: str) -> str:
    """Marks a string for extraction; it is translated where it is shown."""
    return message


def load_catalogs() -> dict[str, gettext_module.NullTranslations]:
    """Every shipped catalog, compiled in memory (fuzzy entries are left out, as gettext does)."""
    found: dict[str, gettext_module.NullTranslations] = {}
    for lang in LANGUAGES:
        catalog = read_catalog(lang)
        buf = BytesIO()
        write_mo(buf, catalog)
        buf.seek(0)
        found[lang] = gettext_module.GNUTranslations(buf)
    return found


def read_catalog(lang: str) -> Catalog:
    """The language's catalog: `messages.po` (the shell), merged with every other `*.po` beside
    it, one per domain (`incidents.po`, ...), so domains add their messages without touching
    one shared file. A message in two files keeps the first translation read."""
    folder = resources.files("minga.web").joinpath("locale", lang, "LC_MESSAGES")
    names = sorted(p.name for p in folder.iterdir() if p.name.endswith(".po"))
    names.sort(key=lambda n: n != "messages.po")
    merged: Catalog | None = None
    for name in names:
        with folder.joinpath(name).open("rb") as fh:
            part = read_po(fh, locale=lang)
        if merged is None:
            merged = part
            continue
        for message in part:
            if message.id and message.id not in merged:
                merged[message.id] = message
    assert merged is not None, f"no catalog for {lang}"
    return merged


def activate(translations: gettext_module.NullTranslations) -> None:
    _current.set(translations)


def gettext(message: str) -> str:
    return _current.get(gettext_module.NullTranslations()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return _current.get(gettext_module.NullTranslations()).ngettext(singular, plural, n)


def pick_language(query: str | None, cookie: str | None, accept: str | None) -> str:
    """`?lang=` first, then the remembered choice, then the browser's list, then English."""
    for value in (query, cookie):
        if value in LANGUAGES:
            return value
    for lang in _accepted(accept or ""):
        if lang in LANGUAGES:
            return lang
    return FALLBACK


def _accepted(header: str) -> list[str]:
    """Primary language tags of an Accept-Language header, best first."""
    weighted: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        if not tag or tag == "*":
            continue
        quality = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                quality = float(params[2:])
            except ValueError:
                quality = 0.0
        if quality > 0:
            weighted.append((-quality, index, tag.split("-")[0].lower()))
    return [tag for _, _, tag in sorted(weighted)]
