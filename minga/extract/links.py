"""Hyperlinks of the report itself: a live link points at a source, not at an indicator.

Analysts write indicators defanged or as plain text; a clickable Markdown or HTML link
(``[text](url)``, ``![alt](url)``, ``<a href="url">``, ``<img src="url">``, or a URL that is
the text of such a link) cites a blog post, a tweet or a screenshot.  On the DEV reports
(StrangerealIntel) 452 of the 478 URLs that the vendor did not list were such links, and
no URL the vendor listed was only written that way (except a benign any.run link).
Links inside fenced code blocks are code (a phishing page's HTML), so they stay indicators.
AsciiDoc (ESET's reports) writes links as ``url[text]`` or ``link:url[text]``: on the ESET-dev
half these cite welivesecurity.com posts and misp-project.org, never an indicator (those are
defanged, and a defanged URL is never a link).
"""

from __future__ import annotations

import re

from .scanners import Spans

__all__ = ["LinkContext"]

_ATTR_END = re.compile(r"(?:href|src)\s*+=?\s*+[\"']?\Z", re.IGNORECASE)
_LINK_TAG = re.compile(r"<(?:a|img)\s", re.IGNORECASE)
_FENCES = ("```", "~~~")
_MACRO_END = re.compile(r"[.,;:!?)]*+(?:\s|\Z)")
_TAG_WINDOW = 300  # an attribute list longer than this is not a hand-written link


def _fenced_blocks(text: str) -> Spans:
    """Spans of fenced code blocks (a fence opens at a line start and closes at the next)."""
    spans: list[tuple[int, int]] = []
    for fence in _FENCES:
        opened = -1
        pos = text.find(fence)
        while pos != -1:
            line_start = text.rfind("\n", 0, pos) + 1
            if not text[line_start:pos].strip(" "):
                if opened == -1:
                    opened = pos
                else:
                    spans.append((opened, pos + 3))
                    opened = -1
            pos = text.find(fence, pos + 3)
        if opened != -1:
            spans.append((opened, len(text)))
    return Spans(spans)


class LinkContext:
    """Tell whether a URL span of a (refanged) text is a hyperlink of the document."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._code: Spans | None = None

    def is_link(self, start: int, end: int) -> bool:
        t = self.text
        before = t[start - 2 : start] if start >= 2 else t[:start]
        if before.endswith("]("):
            found = True  # Markdown link or image target
        elif before.endswith("[") and t.startswith("](", end):
            found = True  # Markdown link text: [https://x/y](https://x/y)
        elif before.endswith(">") and t[end : end + 4].lower() == "</a>":
            found = self._in_tag(start - 1)  # HTML link text
        elif t.startswith("[", end):
            found = self._macro_text(end)  # AsciiDoc url[text] or link:url[text]
        else:  # <a href="url"> or <img src="url">
            attribute = _ATTR_END.search(t, max(0, start - 12), start) is not None
            found = attribute and self._in_tag(start)
        if not found:
            return False
        if self._code is None:
            self._code = _fenced_blocks(t) if any(f in t for f in _FENCES) else Spans(())
        return not self._code.covers(start, end)

    def _macro_text(self, pos: int) -> bool:
        """True when ``[`` at ``pos`` opens an AsciiDoc link text closed by ``]``.

        A placeholder inside a URL (``/gate.php?id=[ID]``, ``/[random].php``) is not one:
        it follows '=', '?' or '&', or the URL goes on after the ``]``.
        """
        t = self.text
        close = t.find("]", pos + 1, pos + _TAG_WINDOW)
        return (
            close > pos + 1
            and "[" not in t[pos + 1 : close]
            and t[pos - 1 : pos] not in ("=", "?", "&")
            and _MACRO_END.match(t, close + 1) is not None
        )

    def _in_tag(self, pos: int) -> bool:
        """True when ``pos`` lies inside an ``<a ...>`` or ``<img ...>`` start tag."""
        lt = self.text.rfind("<", max(0, pos - _TAG_WINDOW), pos)
        return (
            lt != -1 and _LINK_TAG.match(self.text, lt) is not None and ">" not in self.text[lt:pos]
        )
