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
        starts: list[int] = []
        ends: list[int] = []
        for m in _BOUNDARY.finditer(self._text):
            starts.append(m.start())
            ends.append(m.end())
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
