"""Every common defang form is undone, and offsets still point at the raw text."""

from __future__ import annotations

import pytest

from minga.extract import extract_iocs, refang_value


def pairs(text: str, *, include_benign: bool = False) -> list[tuple[str, str]]:
    """(type, value) of every indicator found in ``text``, in text order."""
    return [(i.type.value, i.value) for i in extract_iocs(text, include_benign=include_benign)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("evil[.]com", [("domain", "evil.com")]),
        ("evil(.)com", [("domain", "evil.com")]),
        ("evil{.}com", [("domain", "evil.com")]),
        ("evil[dot]com", [("domain", "evil.com")]),
        ("evil(dot)com", [("domain", "evil.com")]),
        ("evil[DOT]com", [("domain", "evil.com")]),
        ("evil dot com", [("domain", "evil.com")]),
        ("evil [.] com", [("domain", "evil.com")]),
        ("evil[ . ]com", [("domain", "evil.com")]),
        ("hxxp://evil.com/a", [("url", "http://evil.com/a")]),
        ("hXXps://evil.com/a", [("url", "https://evil.com/a")]),
        ("fxp://files.evil.com/a.bin", [("url", "ftp://files.evil.com/a.bin")]),
        ("http[:]//evil.com/a", [("url", "http://evil.com/a")]),
        ("http[://]evil.com/a", [("url", "http://evil.com/a")]),
        ("hxxps[:]//evil[.]com/x", [("url", "https://evil.com/x")]),
        ("user[at]evil.com", [("email", "user@evil.com")]),
        ("user(at)evil.com", [("email", "user@evil.com")]),
        ("user[@]evil.com", [("email", "user@evil.com")]),
        ("malo[punto]com", [("domain", "malo.com")]),
        ("malo[ponto]com", [("domain", "malo.com")]),
        ("usuario[arroba]malo[punto]com", [("email", "usuario@malo.com")]),
        ("usuario(arroba)malo(ponto)com", [("email", "usuario@malo.com")]),
        ("ev\u200bil.com", [("domain", "evil.com")]),
        ("evil.c\u200dom", [("domain", "evil.com")]),
        ("CVE\u20112021\u201144228", [("cve", "CVE-2021-44228")]),
        ("evil\uff0ecom", [("domain", "evil.com")]),
    ],
)
def test_defang_forms(text: str, expected: list[tuple[str, str]]) -> None:
    assert pairs(text) == expected


def test_raw_and_offsets_refer_to_the_original_text() -> None:
    text = "Beacon to hxxps[:]//c2[.]evil[.]com/gate.php then stop."
    [ioc] = extract_iocs(text)
    assert ioc.value == "https://c2.evil.com/gate.php"
    assert ioc.raw == "hxxps[:]//c2[.]evil[.]com/gate.php"
    assert (ioc.start, ioc.end) == (10, 44)
    assert text[ioc.start : ioc.end] == ioc.raw


def test_zero_width_character_inside_value_is_kept_in_raw() -> None:
    text = "see ev\u200bil.com"
    [ioc] = extract_iocs(text)
    assert (ioc.value, ioc.raw, ioc.start, ioc.end) == ("evil.com", "ev\u200bil.com", 4, 13)


def test_refang_value() -> None:
    assert refang_value("hxxp://bad[.]example[.]net/x") == "http://bad.example.net/x"


def test_plain_prose_with_brackets_is_untouched() -> None:
    assert pairs("See [1] and (a) or {b}; the dot matters.") == []
