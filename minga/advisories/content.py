"""What an advisory says, checked: texts per language, severity, sectors, products, references.

The content is kept as one JSON document (see `minga.advisories.models`); `checked` turns what a
person sent into that document, or raises `InvalidInput` naming the field.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from minga.errors import InvalidInput
from minga.web.i18n import LANGUAGES

CATEGORIES = ("vulnerability", "phishing", "malware", "ransomware", "fraud", "outage", "general")
SEVERITIES = ("low", "medium", "high", "critical")
SECTOR_RE = re.compile(r"^[a-z][a-z0-9-]{1,39}$")
CVE_RE = re.compile(r"^CVE-\d{4}-\d{4,}$")
STIX_ID_RE = re.compile(r"^[a-z][a-z0-9-]+--[0-9a-f-]{36}$")
LIMITS = {"title": 200, "summary": 4000, "what_to_do": 8000}
MAX_ITEMS = 50


def _text(value: Any, name: str, limit: int, *, required: bool = True) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be text")
    value = value.strip()
    if required and not value:
        raise InvalidInput(f"{name} must not be empty")
    if len(value) > limit:
        raise InvalidInput(f"{name} is longer than {limit} characters")
    return value


def _items(value: Any, name: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidInput(f"{name} must be a list")
    if len(value) > MAX_ITEMS:
        raise InvalidInput(f"{name} has more than {MAX_ITEMS} entries")
    return value


def _texts(value: Any) -> dict[str, dict[str, str]]:
    if not isinstance(value, dict) or not value:
        raise InvalidInput("texts must give the advisory in at least one of es, pt, en")
    texts: dict[str, dict[str, str]] = {}
    for lang, text in value.items():
        if lang not in LANGUAGES:
            raise InvalidInput(f"texts: {lang!r} is not one of {', '.join(LANGUAGES)}")
        if not isinstance(text, dict):
            raise InvalidInput(f"texts.{lang} must have title, summary and what_to_do")
        texts[lang] = {
            "title": _text(text.get("title"), f"texts.{lang}.title", LIMITS["title"]),
            "summary": _text(text.get("summary"), f"texts.{lang}.summary", LIMITS["summary"]),
            "what_to_do": _text(
                text.get("what_to_do"), f"texts.{lang}.what_to_do", LIMITS["what_to_do"]
            ),
        }
    return texts


def _choice(value: Any, name: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise InvalidInput(f"{name} must be one of {', '.join(allowed)}")
    return str(value)


def _products(value: Any) -> list[dict[str, str]]:
    products = []
    for i, item in enumerate(_items(value, "products")):
        if not isinstance(item, dict):
            raise InvalidInput(f"products[{i}] must have vendor, product and versions")
        products.append(
            {
                "vendor": _text(item.get("vendor"), f"products[{i}].vendor", 200),
                "product": _text(item.get("product"), f"products[{i}].product", 200),
                "versions": _text(item.get("versions"), f"products[{i}].versions", 200),
            }
        )
    return products


def _matching(value: Any, name: str, pattern: re.Pattern[str], what: str) -> list[str]:
    found: list[str] = []
    for item in _items(value, name):
        if not isinstance(item, str) or not pattern.match(item.strip()):
            raise InvalidInput(f"{name}: {item!r} is not {what}")
        if item.strip() not in found:
            found.append(item.strip())
    return found


def _references(value: Any) -> list[str]:
    urls: list[str] = []
    for item in _items(value, "references"):
        url = _text(item, "references", 1000)
        if not url.startswith(("https://", "http://")) or any(c.isspace() for c in url):
            raise InvalidInput(f"references: {url!r} is not an http(s) URL")
        if url not in urls:
            urls.append(url)
    return urls


def checked(fields: dict[str, Any]) -> dict[str, Any]:
    """The advisory content from what a person sent (links are resolved by the service)."""
    return {
        "texts": _texts(fields.get("texts")),
        "category": _choice(fields.get("category"), "category", CATEGORIES),
        "severity": _choice(fields.get("severity"), "severity", SEVERITIES),
        "sectors": _matching(
            fields.get("sectors"), "sectors", SECTOR_RE, "a sector (lower-case, e.g. health)"
        ),
        "products": _products(fields.get("products")),
        "cves": _matching(fields.get("cves"), "cves", CVE_RE, "a CVE id (CVE-2024-12345)"),
        "references": _references(fields.get("references")),
        "links": _matching(fields.get("links"), "links", STIX_ID_RE, "a STIX id"),
    }


def best_language(content: dict[str, Any], wanted: str) -> str:
    """The language to show an advisory in: the reader's if it was written in it, else the
    first it was written in."""
    texts = content["texts"]
    return wanted if wanted in texts else next(iter(texts))


def text_in(content: dict[str, Any], wanted: str) -> dict[str, str]:
    return dict(content["texts"][best_language(content, wanted)])


def fold(text: str) -> str:
    """Lower case without accents: "Crítica" and "critica" are the same word to a search."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def search_text(tracking_id: str, content: dict[str, Any]) -> str:
    """Folded words of every language, CVE, product and sector, for public search."""
    parts = [tracking_id, *content.get("cves", []), *content.get("sectors", [])]
    for text in content["texts"].values():
        parts.extend(text.values())
    for product in content.get("products", []):
        parts.extend(product.values())
    return fold(" ".join(parts))


def tags(values: list[str]) -> str:
    """ ",a,b,": a list kept in one column, matched with LIKE '%,a,%' on every backend."""
    return "," + "".join(f"{v}," for v in values)


def cves_of(body: dict[str, Any]) -> list[str]:
    """The CVEs an advisory is about: those typed in, then those of linked vulnerabilities."""
    found = list(body.get("cves", []))
    for each in body.get("linked", []):
        if each["type"] == "vulnerability" and each["detail"] and each["detail"] not in found:
            found.append(each["detail"])
    return found


def csaf_ready(body: dict[str, Any]) -> bool:
    """Does a CSAF security advisory say it: about vulnerabilities, with affected products and
    at least one CVE?"""
    return (
        body["category"] == "vulnerability" and bool(body.get("products")) and bool(cves_of(body))
    )
