"""Shared helpers of the extraction tests."""

from __future__ import annotations

from minga.extract import extract_iocs


def pairs(text: str, *, include_benign: bool = False) -> list[tuple[str, str]]:
    """(type, value) of every indicator found in ``text``, in text order."""
    return [(i.type.value, i.value) for i in extract_iocs(text, include_benign=include_benign)]
