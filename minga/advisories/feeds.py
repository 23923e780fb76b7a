"""RSS 2.0 and Atom (RFC 4287) feeds of public advisories, per language and per sector.

Built with the standard library's ElementTree: text is escaped by the serializer, never pasted.
Withdrawn advisories leave the feeds (their pages stay, marked withdrawn)."""

from __future__ import annotations

from datetime import datetime
from email.utils import format_datetime
from xml.etree import ElementTree as ET

from minga.advisories.public import PublicAdvisory

ATOM_NS = "http://www.w3.org/2005/Atom"


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrs)
    if text is not None:
        element.text = text
    return element


def _rfc3339(value: datetime) -> str:
    return value.isoformat(timespec="seconds").replace("+00:00", "Z")


def rss(
    items: list[PublicAdvisory], *, title: str, link: str, self_url: str, lang: str, root: str
) -> bytes:
    ET.register_namespace("atom", ATOM_NS)
    feed = ET.Element("rss", {"version": "2.0"})
    channel = _sub(feed, "channel")
    _sub(channel, "title", title)
    _sub(channel, "link", link)
    _sub(channel, "description", title)
    _sub(channel, "language", lang)
    _sub(channel, f"{{{ATOM_NS}}}link", href=self_url, rel="self", type="application/rss+xml")
    if items:
        _sub(channel, "lastBuildDate", format_datetime(max(i.updated_at for i in items)))
    for each in items:
        url = f"{root}/public/advisories/{each.tracking_id}?lang={each.lang}"
        item = _sub(channel, "item")
        _sub(item, "title", f"[{each.severity.upper()}] {each.title}")
        _sub(item, "link", url)
        _sub(item, "guid", f"{url}&rev={each.revision}", isPermaLink="false")
        _sub(item, "description", each.summary)
        _sub(item, "pubDate", format_datetime(each.updated_at))
        _sub(item, "category", each.category)
        for sector in each.content.get("sectors", []):
            _sub(item, "category", sector)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(feed, encoding="utf-8")


def atom(
    items: list[PublicAdvisory],
    *,
    title: str,
    link: str,
    self_url: str,
    lang: str,
    root: str,
    updated: datetime,
) -> bytes:
    ET.register_namespace("", ATOM_NS)

    def q(tag: str) -> str:
        return f"{{{ATOM_NS}}}{tag}"

    feed = ET.Element(q("feed"), {"{http://www.w3.org/XML/1998/namespace}lang": lang})
    _sub(feed, q("id"), self_url)
    _sub(feed, q("title"), title)
    _sub(feed, q("updated"), _rfc3339(max((i.updated_at for i in items), default=updated)))
    _sub(feed, q("link"), href=self_url, rel="self")
    _sub(feed, q("link"), href=link, rel="alternate", type="text/html")
    author = _sub(feed, q("author"))
    _sub(author, q("name"), title)
    for each in items:
        url = f"{root}/public/advisories/{each.tracking_id}?lang={each.lang}"
        entry = _sub(feed, q("entry"))
        _sub(entry, q("id"), f"{root}/public/advisories/{each.tracking_id}")
        _sub(entry, q("title"), f"[{each.severity.upper()}] {each.title}")
        _sub(entry, q("link"), href=url, rel="alternate", type="text/html")
        _sub(entry, q("published"), _rfc3339(each.published_at))
        _sub(entry, q("updated"), _rfc3339(each.updated_at))
        _sub(entry, q("summary"), each.summary)
        by = _sub(entry, q("author"))
        _sub(by, q("name"), each.publisher)
        _sub(entry, q("category"), term=each.category)
        for sector in each.content.get("sectors", []):
            _sub(entry, q("category"), term=sector)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(feed, encoding="utf-8")
