"""The comparable values of a STIX object: of its indicator pattern, or of the observable itself.

`values_of` is called for every object the store writes (in the same transaction, see
`minga.correlate.store`), so its common case is cheap: a pattern of the usual shape
(`[ipv4-addr:value = '...' OR ...]`) is read with a regular expression; anything else (IN,
ISSUBSET, observation operators, qualifiers) goes through the stix2-patterns grammar.
Only comparisons that name a value (`=`, `IN`, `ISSUBSET`) are indexed: `LIKE`, `MATCHES` and
`!=` describe many values, none of which a look-up could be equal to.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from stix2patterns.v21.pattern import Pattern

from minga.correlate import normalise as n
from minga.correlate.normalise import Value
from minga.intel.stix import MAX_PATTERN, QUOTED, SIMPLE_PATTERN
from minga.policy import exercise_of

# One comparison of a simple pattern: object type, property path, operator, quoted value.
_COMPARISON = re.compile(
    r"([a-z0-9][a-z0-9-]*):([A-Za-z0-9_]+(?:\.(?:[A-Za-z0-9_]+|'[^'\\]+')|\[(?:\d+|\*)\])*)"
    rf"\s*(=|!=|>=|<=|>|<|LIKE|MATCHES)\s*({QUOTED}|[^\s\]]+)"
)
# The usual indicator: one equality (`[ipv4-addr:value = '198.51.100.7']`), read in one step.
_ONE = re.compile(rf"\[([a-z0-9-]+):(value|name|hashes\.'[^'\\]+')\s*=\s*'({QUOTED[1:-1]})'\]")
_IN_LIST = re.compile(f"'({QUOTED[1:-1]})'")
EQUAL_OPS = frozenset({"=", "IN", "ISSUBSET"})
MAX_VALUES = 1000  # values indexed of one object (a pattern of thousands of ORs is a list)


def _address(text: str) -> Value | None:
    return n.ip(text)


def _hash_of(name: str) -> Callable[[str], Value | None]:
    return lambda text: n.file_hash(text, name)


def _ja3(text: str) -> Value | None:
    value = text.strip().lower()
    return Value("ja3", value) if len(value) == 32 and n.HEX_RE.match(value) else None


def _regkey(text: str) -> Value | None:
    return n.plain("regkey", text, lower=True)  # Windows registry keys ignore case


_SIMPLE: dict[tuple[str, str], Callable[[str], Value | None]] = {
    ("ipv4-addr", "value"): _address,
    ("ipv6-addr", "value"): _address,
    ("domain-name", "value"): n.domain,
    ("url", "value"): n.url,
    ("email-addr", "value"): n.email,
    ("mac-addr", "value"): lambda t: n.plain("mac", t, lower=True),
    ("autonomous-system", "number"): lambda t: n.plain("asn", t.removeprefix("AS")),
    ("file", "name"): lambda t: n.plain("filename", t),
    ("mutex", "name"): lambda t: n.plain("mutex", t),
    ("windows-registry-key", "key"): _regkey,
    ("user-account", "user_id"): lambda t: n.plain("user", t),
    ("x509-certificate", "serial_number"): lambda t: n.plain("x509-serial", t, lower=True),
}
_ADDRESS_REFS = ("src_ref.value", "dst_ref.value", "resolves_to_refs[*].value")
_EMAIL_REFS = ("from_ref.value", "sender_ref.value", "to_refs[*].value", "cc_refs[*].value")


def _reader(otype: str, path: str) -> Callable[[str], Value | None] | None:
    """How to read the value compared to `otype:path` (None: not a comparable value)."""
    found = _SIMPLE.get((otype, path))
    if found is not None:
        return found
    if path.startswith("hashes."):
        return _hash_of(path[7:].strip("'"))
    if otype == "network-traffic" and path in _ADDRESS_REFS:
        return _address
    if otype == "domain-name" and path.startswith("resolves_to_refs"):
        return _address
    if otype == "email-message" and path in _EMAIL_REFS:
        return n.email
    if "ja3" in path.lower():
        return _ja3
    return None


def _unquote(text: str) -> str:
    return text.replace("\\'", "'").replace("\\\\", "\\")


def pattern_values(pattern: str) -> list[Value]:
    """The comparable values a STIX pattern names (empty if it names none or cannot be read)."""
    found: list[Value] = []
    one = _ONE.fullmatch(pattern)
    if one is not None:
        otype, path, text = one.groups()
        _add(found, _reader(otype, path), _unquote(text) if "\\" in text else text)
        return found
    if SIMPLE_PATTERN.fullmatch(pattern):
        for otype, path, op, raw in _COMPARISON.findall(pattern):
            if op == "=" and raw.startswith("'"):
                _add(found, _reader(otype, path), _unquote(raw[1:-1]))
        return found
    if len(pattern) > MAX_PATTERN:
        return found
    try:
        comparisons = Pattern(pattern).inspect().comparisons
    except Exception:  # a pattern the grammar refuses names nothing comparable
        return found
    for otype, items in comparisons.items():
        for steps, op, raw in items:
            if op not in EQUAL_OPS or not isinstance(raw, str):
                continue
            path = ".".join(
                f"'{s}'" if isinstance(s, str) and not s.isidentifier() else str(s) for s in steps
            ).replace(".[*]", "[*]")
            reader = _reader(otype, path)
            if reader is None:
                continue
            for text in _IN_LIST.findall(raw) if raw.startswith(("'", "(")) else [raw]:
                _add(found, reader, _unquote(text))
    return found


def _add(found: list[Value], reader: Callable[[str], Value | None] | None, text: str) -> None:
    if reader is not None and len(found) < MAX_VALUES:
        value = reader(text)
        if value is not None:
            found.append(value)


def _hashes(obj: dict[str, Any]) -> Iterable[Value]:
    hashes = obj.get("hashes")
    if isinstance(hashes, dict):
        for name, text in hashes.items():
            if isinstance(text, str) and (value := n.file_hash(text, name)) is not None:
                yield value


def observable_values(obj: dict[str, Any]) -> list[Value]:
    """The comparable values of a cyber observable (SCO)."""
    otype = obj["type"]
    found: list[Value] = list(_hashes(obj))
    for prop in ("value", "name", "number", "key", "user_id", "serial_number"):
        text = obj.get(prop)
        if text is None or isinstance(text, (dict, list)):
            continue
        _add(found, _SIMPLE.get((otype, prop)), str(text))
    return found


def values_of(obj: dict[str, Any]) -> list[Value]:
    """Every comparable value of one object, each once (none of exercise content)."""
    if exercise_of(obj) is not None:
        return []
    otype = obj.get("type")
    if otype == "indicator":
        pattern = obj.get("pattern")
        if obj.get("pattern_type") != "stix" or not isinstance(pattern, str):
            return []
        found = pattern_values(pattern)
    elif otype in OBSERVABLE_TYPES:
        found = observable_values(obj)
    else:
        return []
    if len(found) < 2:
        return found
    seen: set[tuple[str, str]] = set()
    unique = []
    for value in found:
        key = (value.kind, value.value)
        if key not in seen:
            seen.add(key)
            unique.append(value)
    return unique


OBSERVABLE_TYPES = frozenset(
    {"ipv4-addr", "ipv6-addr", "domain-name", "url", "email-addr", "file", "artifact",
     "mac-addr", "autonomous-system", "mutex", "windows-registry-key", "user-account",
     "x509-certificate"}
)  # fmt: skip
