"""Hostile single-line inputs (2 MB) finish: the patterns cannot backtrack catastrophically.

No wall-clock assertion: a quadratic pattern would make these tests run for hours, which
the CI timeout reports; each input is checked for its exact (mostly empty) result.
"""

from __future__ import annotations

import pytest

from minga.extract import extract_iocs

SIZE = 2_000_000


@pytest.mark.parametrize(
    "text",
    [
        "a." * (SIZE // 2),
        "1." * (SIZE // 2),
        "a" * SIZE,
        "a@" * (SIZE // 2),
        "a." * (SIZE // 2) + "@x",
        "[." * (SIZE // 2),
        "0" * SIZE,
        "1.1.1.1." * (SIZE // 8),
        "::" * (SIZE // 2),
        "a:" * (SIZE // 2),
        "%a%\\" * (SIZE // 4),
        "a-" * (SIZE // 2),
        "CVE-" * (SIZE // 4),
        "%" * SIZE,
        "hxxp" * (SIZE // 4),
        "a dot " * (SIZE // 6),
        "\\" * SIZE,
        "T1" * (SIZE // 2),
        "1A" * (SIZE // 2),
        "http://" + "a" * SIZE,
    ],
    ids=lambda t: repr(t[:12]),
)
def test_pathological_inputs_give_nothing(text: str) -> None:
    assert extract_iocs(text) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("HKCU\\" + "a " * (SIZE // 2), [("registry_key", "HKCU\\a")]),
        ("C:\\" + "ab " * (SIZE // 3), [("file_path", "C:\\ab")]),
    ],
    ids=["registry-words", "path-words"],
)
def test_path_followed_by_many_words(text: str, expected: list[tuple[str, str]]) -> None:
    assert [(i.type.value, i.value) for i in extract_iocs(text)] == expected


def test_long_path_like_token_is_not_an_indicator() -> None:
    assert extract_iocs("/etc" * (SIZE // 4)) == []


def test_many_indicators_on_one_line() -> None:
    iocs = extract_iocs("evil[.]com 45.77.12.3 " * 20_000)
    assert len(iocs) == 40_000
    assert (iocs[-1].value, iocs[-1].start, iocs[-1].end) == ("45.77.12.3", 439_989, 439_999)
    assert len(iocs[-1].sentence) <= 1_000
