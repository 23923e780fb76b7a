"""Catalogs are complete (es, pt: every msgid translated, nothing fuzzy) and the language choice."""

from __future__ import annotations

from importlib import resources

import pytest
from babel.messages.extract import extract_from_dir
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from minga.web import i18n
from tests.conftest import add_member
from tests.web.conftest import sign_in


def _catalog(lang: str):
    return i18n.read_catalog(lang)


def _source_msgids() -> set[str]:
    """Every message the code and templates use, extracted as pybabel would."""
    web = resources.files("minga.web")
    method_map = [("**.py", "python"), ("templates/**.html", "jinja2")]
    options = {"templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None, "t": None}
    found = set()
    for _, _, message, _, _ in extract_from_dir(str(web), method_map, options, keywords=keywords):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


@pytest.mark.parametrize("lang", ["es", "pt", "en"])
def test_every_message_is_translated_and_not_fuzzy(lang: str):
    catalog = _catalog(lang)
    ids = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id}
    assert _source_msgids() - ids == set()
    for message in catalog:
        if not message.id:
            continue
        assert not message.fuzzy, message.id
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(s.strip() for s in strings), f"{lang}: {message.id!r} is not translated"


def test_translations_keep_their_placeholders():
    for lang in ("es", "pt"):
        for message in _catalog(lang):
            if not message.id:
                continue
            source = message.id if isinstance(message.id, tuple) else (message.id,)
            target = message.string if isinstance(message.string, tuple) else (message.string,)
            wanted = set(_placeholders(source[-1]))
            for s in target:
                assert set(_placeholders(s)) == wanted, (lang, message.id)


def _placeholders(text: str) -> list[str]:
    import re

    return re.findall(r"%\(\w+\)s", text)


@pytest.mark.parametrize(
    ("query", "cookie", "accept", "expected"),
    [
        ("pt", "es", "en", "pt"),
        (None, "es", "pt-BR", "es"),
        (None, None, "pt-BR,pt;q=0.9,en;q=0.8", "pt"),
        (None, None, "de-DE,de;q=0.9,es;q=0.5", "es"),
        (None, None, "en-US;q=0.4,es-CR;q=0.8", "es"),
        (None, None, "de-DE", "en"),
        (None, None, None, "en"),
        ("xx", None, "es", "es"),
    ],
)
def test_pick_language(query, cookie, accept, expected):
    assert i18n.pick_language(query, cookie, accept) == expected


def test_language_follows_the_browser_then_the_switch(
    client: TestClient, sessions: sessionmaker[Session]
):
    a = add_member(sessions, "Org A")
    sign_in(client, a.token)
    es = client.get("/", headers={"Accept-Language": "es-CR,es;q=0.9"})
    assert '<html lang="es">' in es.text and ">Panel</a>" in es.text
    pt = client.get("/?lang=pt", headers={"Accept-Language": "es"})
    assert '<html lang="pt">' in pt.text and ">Painel</a>" in pt.text
    assert client.cookies.get(i18n.COOKIE) == "pt"
    again = client.get("/objects", headers={"Accept-Language": "es"})
    assert '<html lang="pt">' in again.text  # the choice is remembered
    en = client.get("/objects?lang=en")
    assert "Objects you may see, newest first" in en.text
