"""The quoted-string regular expression of patterns (`stix.QUOTED`, an unrolled loop) accepts and
captures exactly what the plainer alternation it replaced did, so pattern checks and the
observable index read the same values as before."""

from __future__ import annotations

import random
import re

from minga.correlate import index
from minga.intel import stix

OLD_STR = r"'(?:[^'\\]|\\['\\])*'"
_VAL = rf"(?:{OLD_STR}|-?\d+(?:\.\d+)?|true|false|[hbt]{OLD_STR})"
_CMP = rf"{stix._PATH}\s*(?:=|!=|>=|<=|>|<|LIKE|MATCHES)\s*{_VAL}"
OLD_SIMPLE = re.compile(rf"\[\s*{_CMP}(?:\s+(?:AND|OR)\s+{_CMP})*\s*\]")
OLD_ONE = re.compile(
    r"\[([a-z0-9-]+):(value|name|hashes\.'[^'\\]+')\s*=\s*'((?:[^'\\]|\\['\\])*)'\]"
)
OLD_COMPARISON = re.compile(
    r"([a-z0-9][a-z0-9-]*):([A-Za-z0-9_]+(?:\.(?:[A-Za-z0-9_]+|'[^'\\]+')|\[(?:\d+|\*)\])*)"
    r"\s*(=|!=|>=|<=|>|<|LIKE|MATCHES)\s*('(?:[^'\\]|\\['\\])*'|[^\s\]]+)"
)
OLD_IN_LIST = re.compile(r"'((?:[^'\\]|\\['\\])*)'")


def _values(rng: random.Random) -> list[str]:
    """Quoted-value bodies rich in quotes and backslashes, some invalid."""
    alphabet = ["a", "b", "1", ".", "/", " ", "'", "\\", "\\'", "\\\\", "]", "OR"]
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 8))) for _ in range(3000)]


def _patterns(rng: random.Random) -> list[str]:
    out = []
    for body in _values(rng):
        out.append(f"[url:value = '{body}']")
        out.append(f"[file:hashes.'SHA-256' = '{body}']")
        out.append(f"[domain-name:value = '{body}' OR ipv4-addr:value = 'x{body}']")
        out.append(f"[ipv4-addr:value IN ('{body}', '{body}x')]")
        out.append(f"[url:value LIKE '{body}' AND url:value != '{body}']")
    return out


def test_simple_pattern_accepts_the_same_patterns() -> None:
    patterns = _patterns(random.Random(13))
    accepted = 0
    for p in patterns:
        old = OLD_SIMPLE.fullmatch(p) is not None
        assert (stix.SIMPLE_PATTERN.fullmatch(p) is not None) == old, p
        accepted += old
    assert 0 < accepted < len(patterns)  # both kinds were tried


def test_index_expressions_capture_the_same_values() -> None:
    patterns = _patterns(random.Random(11))
    one_matched = 0
    for p in patterns:
        old, new = OLD_ONE.fullmatch(p), index._ONE.fullmatch(p)
        assert (old and old.groups()) == (new and new.groups()), p
        one_matched += old is not None
        assert OLD_COMPARISON.findall(p) == index._COMPARISON.findall(p), p
        assert OLD_IN_LIST.findall(p) == index._IN_LIST.findall(p), p
    assert 0 < one_matched < len(patterns)


def test_check_object_and_index_on_escaped_values() -> None:
    obj = {
        "type": "indicator",
        "spec_version": "2.1",
        "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
        "created": "2024-02-01T10:00:00.000Z",
        "modified": "2024-02-01T10:00:00.000Z",
        "pattern": r"[file:name = 'it\'s a \\ file.exe']",
        "pattern_type": "stix",
        "valid_from": "2024-02-01T10:00:00Z",
    }
    assert stix.check_object(obj) == []
    assert [v.value for v in index.pattern_values(obj["pattern"])] == ["it's a \\ file.exe"]
    obj["pattern"] = r"[file:name = 'bad \q escape']"
    assert stix.check_object(obj)  # the grammar refuses it, as before
