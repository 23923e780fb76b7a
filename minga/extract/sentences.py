"""Find the sentence around an indicator (for display and for analysts' context)."""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right

__all__ = ["SentenceFinder"]

_MAX_SIDE = 300
# Sentence ends: ./!/? followed by white space, a blank line, a line that starts a list
# item/table row/heading, or the end of a table row.  The first character is a class of
# rare characters so one pass over a large text is fast.
_BOUNDARY = re.compile(
    r"[.!?。](?=\s)|\n[ \t]*\n|\n(?=[ \t]*(?:[-*+•|#>]|\d{1,3}[.)]\s))|\|[ \t]*(?=\n)|\n\|"
)

# A heading: a short line on its own (first in the text or after a blank line, or written all
# in capitals) with no sentence punctuation at its end, followed by a line that starts a
# sentence. The newline after it ends a "sentence", so the heading is not glued to the next one.
_HEADING = re.compile(
    r"(?:\A|\n[ \t]*\n|(?<=\n))[ \t]*([^\n]{1,80}?)[ \t]*\n(?=[ \t]*[^\W_a-z])",
)
_CAPS = re.compile(r"[^\W\d_]")


def _is_heading(line: str, alone: bool) -> bool:
    if not line or line[-1] in ".,;!?)]}\"'»”" or "|" in line:
        return False
    letters = _CAPS.findall(line)
    if len(letters) < 3:
        return False
    if line.lstrip().startswith("#"):
        return True
    shouting = not any(c.islower() for c in letters)
    return shouting or (alone and len(line) <= 50 and len(line.split()) <= 7)


def _heading_ends(text: str) -> list[int]:
    """Positions of the newline that ends each heading line."""
    found: list[int] = []
    for m in _HEADING.finditer(text):
        line = m.group(1)
        begin = m.start(1)
        alone = begin == 0 or text.rfind("\n", 0, begin) in (-1,) or _after_blank(text, begin)
        if _is_heading(line.strip(), alone):
            found.append(text.index("\n", m.end(1)))
    return found


def _after_blank(text: str, begin: int) -> bool:
    """Is the line starting at `begin` the first of its paragraph?"""
    prev = text.rfind("\n", 0, begin)
    if prev <= 0:
        return True
    before = text.rfind("\n", 0, prev)
    return not text[before + 1 : prev].strip()


class SentenceFinder:
    """Return the sentence containing ``text[start:end]``.

    Boundaries are computed once per text (lazily) and looked up by bisection.
    """

    __slots__ = ("_cache", "_ends", "_starts", "_text")

    def __init__(self, text: str) -> None:
        self._text = text
        self._starts: list[int] | None = None
        self._ends: list[int] = []
        self._cache: dict[tuple[int, int], str] = {}

    def _index(self) -> list[int]:
        spans = {(m.start(), m.end()) for m in _BOUNDARY.finditer(self._text)}
        covered = {p for a, b in spans for p in range(a, b)}
        spans.update((p, p + 1) for p in _heading_ends(self._text) if p not in covered)
        starts: list[int] = []
        ends: list[int] = []
        for a, b in sorted(spans):
            starts.append(a)
            ends.append(b)
        self._starts = starts
        self._ends = ends
        return starts

    def __call__(self, start: int, end: int) -> str:
        starts = self._starts if self._starts is not None else self._index()
        ends = self._ends
        # last boundary ending at or before start
        i = bisect_right(ends, start) - 1
        begin = ends[i] if i >= 0 else 0
        begin = max(begin, start - _MAX_SIDE)
        j = bisect_left(starts, end)
        if j < len(starts):
            stop = starts[j] + (1 if self._text[starts[j]] in ".!?。" else 0)
        else:
            stop = len(self._text)
        stop = min(stop, end + _MAX_SIDE)
        key = (begin, stop)
        sentence = self._cache.get(key)
        if sentence is None:
            sentence = " ".join(self._text[begin:stop].split()).strip(" |")
            self._cache[key] = sentence
        return sentence
