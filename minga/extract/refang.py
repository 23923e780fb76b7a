"""Undo the usual "defanging" of indicators while keeping a map back to the input offsets.

Analysts write ``hxxp://evil[.]com`` or ``user[at]mail(.)com`` so that indicators are not
clickable.  :func:`refang` rewrites those forms to their real characters and returns a
:class:`Refanged` text that can translate every offset of the rewritten text back to the
original text (so that each indicator keeps its exact ``raw`` slice and position).
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field

__all__ = ["Refanged", "refang", "refang_value"]

# One-to-one character substitutions (offsets do not move): exotic hyphens, non-breaking
# spaces, full-width dot/at.  Applied with str.translate only when one of them occurs.
_SAME_LENGTH = {
    0x2010: "-",  # hyphen
    0x2011: "-",  # non-breaking hyphen
    0x2012: "-",  # figure dash
    0x2013: "-",  # en dash
    0x2212: "-",  # minus sign
    0xFE63: "-",  # small hyphen-minus
    0xFF0D: "-",  # full-width hyphen-minus
    0x00A0: " ",  # no-break space
    0x2007: " ",  # figure space
    0x202F: " ",  # narrow no-break space
    0x3000: " ",  # ideographic space
    0x2024: ".",  # one dot leader
    0xFF0E: ".",  # full-width full stop
    0xFF20: "@",  # full-width commercial at
    0xFF1A: ":",  # full-width colon
}


def _same_length(m: re.Match[str]) -> str:
    return _SAME_LENGTH[ord(m.group())]


_SAME_LENGTH_PRESENT = re.compile("[" + "".join(chr(c) for c in _SAME_LENGTH) + "]")

_ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e"
_DOT = r"\.|[dD][oO][tT]|[pP][uU][nN][tT][oO]|[pP][oO][nN][tT][oO]"
_AT = r"@|[aA][tT]|[aA][rR][rR][oO][bB][aA]"

# Bracketed forms and zero-width characters.  The pattern starts with a character class
# of rare characters so that the regex engine skips ordinary prose at C speed.
_BRACKETED = re.compile(
    rf"[\[({{<{_ZERO_WIDTH}]"
    rf"(?:(?<=[{_ZERO_WIDTH}])[{_ZERO_WIDTH}]*+"
    rf"|(?<=\[) ?(?:{_DOT}|{_AT}|://|:|/) ?\]"
    rf"|(?<=\()(?:{_DOT}|{_AT}|:)\)"
    rf"|(?<=\{{)(?:{_DOT}|{_AT})\}}"
    r"|(?<=<)\.>)"
)
# hxxp, hXXps, fxp, hxtp... followed by ':' or a bracketed colon.
_SCHEME = re.compile(
    r"[hHfF](?<![\w][hHfF])(?:[xX]{2,3}|[xX][tT]|[tT][xX]|[xX]|\[[tT][tT]\]|\*\*)"
    r"(?P<s>[pP][sS]?)(?=\[?:|\(:\)|\[://\])"
)
# "evil dot com"
_WORD_DOT = re.compile(r" (?:dot|DOT) (?<=[A-Za-z0-9] [dD][oO][tT] )(?=[A-Za-z0-9])")


def _replacement(m: re.Match[str]) -> str:
    token = m.group()
    first = token[0]
    if first in _ZERO_WIDTH:
        return ""
    if m.re is _SCHEME:
        head = "ftp" if first in "fF" else "http"
        return head + ("s" if len(m.group("s")) == 2 else "")
    inner = token.strip(" []{}()<>").lower()
    if inner in ("@", "at", "arroba"):
        return "@"
    if inner in (":", "://", "/"):
        return inner
    return "."


# Cheap gate for _SCHEME: an x, * or ] right after h/f/t/x/* ("exploit" does not pass).
_SCHEME_HINT = re.compile(r"[xX*\]](?<=[hHfFtTxX*][xX*\]])")


def _matches(text: str) -> list[re.Match[str]]:
    found = list(_BRACKETED.finditer(text))  # zero-width chars are never ASCII
    if _SCHEME_HINT.search(text) is not None:
        found.extend(_SCHEME.finditer(text))
    if " dot " in text or " DOT " in text:
        found.extend(_WORD_DOT.finditer(text))
    if len(found) > 1:
        found.sort(key=lambda m: m.start())
    return found


@dataclass(slots=True)
class Refanged:
    """Refanged text plus the replacements made (parallel sorted lists)."""

    text: str
    new_start: list[int] = field(default_factory=list)
    new_end: list[int] = field(default_factory=list)
    orig_start: list[int] = field(default_factory=list)
    orig_end: list[int] = field(default_factory=list)

    def start_to_orig(self, pos: int) -> int:
        """Map a start offset of :attr:`text` to the original text."""
        if not self.new_start:
            return pos
        i = bisect_right(self.new_start, pos) - 1
        if i < 0:
            return pos
        if pos < self.new_end[i]:
            return self.orig_start[i]
        return self.orig_end[i] + (pos - self.new_end[i])

    def end_to_orig(self, pos: int) -> int:
        """Map an (exclusive) end offset of :attr:`text` to the original text."""
        if not self.new_start:
            return pos
        i = bisect_left(self.new_start, pos) - 1
        if i < 0:
            return pos
        if pos <= self.new_end[i]:
            return self.orig_end[i]
        return self.orig_end[i] + (pos - self.new_end[i])

    def defanged(self, start: int, end: int) -> bool:
        """True when a visible refang (not just a zero-width char) happened in [start, end)."""
        if not self.new_start:
            return False
        i = bisect_left(self.new_end, start)
        while i < len(self.new_start) and self.new_start[i] < end:
            if self.new_end[i] > self.new_start[i]:
                return True
            i += 1
        return False


def refang(text: str) -> Refanged:
    """Return the refanged version of ``text`` with an offset map to ``text``."""
    if not text.isascii() and _SAME_LENGTH_PRESENT.search(text) is not None:
        text = _SAME_LENGTH_PRESENT.sub(_same_length, text)
    result = Refanged(text)
    pieces: list[str] = []
    last = 0
    delta = 0
    for m in _matches(text):
        a, b = m.span()
        if a < last:
            continue  # overlapping forms: keep the first
        rep = _replacement(m)
        # "evil [.] com": the spaces around a bracketed dot/at go too
        if (
            rep in (".", "@")
            and m.re is _BRACKETED
            and a > last
            and text[a - 1] == " "
            and b < len(text)
            and text[b] == " "
        ):
            a -= 1
            b += 1
        pieces.append(text[last:a])
        pieces.append(rep)
        result.new_start.append(a + delta)
        result.new_end.append(a + delta + len(rep))
        result.orig_start.append(a)
        result.orig_end.append(b)
        delta += len(rep) - (b - a)
        last = b
    if pieces:
        pieces.append(text[last:])
        result.text = "".join(pieces)
    return result


def refang_value(value: str) -> str:
    """Refang a single indicator string (e.g. a value typed in a search box)."""
    return refang(value).text
