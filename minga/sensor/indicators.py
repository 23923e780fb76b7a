"""STIX indicators → the single observables the sensor can look for in telemetry. A pattern's
comparisons are read with stix2-patterns; only '=' / ISSUBSET / IN comparisons joined by OR are
used, as Zeek's Intel framework does: a pattern that needs several observables together (AND,
FOLLOWEDBY, qualifiers) cannot be decided from one log record and is reported as skipped."""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson
from stix2patterns.pattern import Pattern

from minga.intel.stix import ts_to_us

KINDS = ("ip", "domain", "url", "hash", "ja3", "ja3s", "cert")
_QUOTED = re.compile(r"'(?:[^'\\]|\\.)*'")
_COMBINED = re.compile(r"\b(AND|FOLLOWEDBY|WITHIN|REPEATS|START|STOP)\b")


@dataclass(frozen=True)
class Observable:
    kind: str  # one of KINDS
    value: str


@dataclass
class Loaded:
    """Indicators read from a bundle: parallel lists, one entry per usable observable."""

    ids: list[str]
    names: list[str]
    kinds: list[str]
    values: list[str]
    owners: list[int]  # index into ids/names
    skipped: list[tuple[str, str]]  # (indicator id, why it cannot be matched per record)


def _kind(obj_type: str, path: list[Any]) -> str | None:
    words = [obj_type, *(str(p).lower() for p in path)]
    if any("ja3s" in w for w in words):
        return "ja3s"
    if any("ja3" in w for w in words):
        return "ja3"
    if obj_type in ("ipv4-addr", "ipv6-addr") and path == ["value"]:
        return "ip"
    if (
        obj_type == "network-traffic"
        and path[-1:] == ["value"]
        and path[0] in ("src_ref", "dst_ref")
    ):
        return "ip"
    if obj_type == "domain-name" and path == ["value"]:
        return "domain"
    if obj_type == "url" and path == ["value"]:
        return "url"
    if obj_type == "file" and path[:1] == ["hashes"]:
        return "hash"
    if obj_type == "x509-certificate" and path[:1] == ["hashes"]:
        return "cert"
    return None


def _values(raw: str) -> list[str]:
    """ "'a'" → [a]; "('a', 'b')" (IN) → [a, b]."""
    return [m[1:-1].replace("\\'", "'").replace("\\\\", "\\") for m in _QUOTED.findall(raw)]


def pattern_observables(pattern: str) -> tuple[list[Observable], str | None]:
    """The observables a pattern names, or why it cannot be matched one record at a time."""
    if _COMBINED.search(_QUOTED.sub("''", pattern)):
        return [], "needs several observables together (AND/FOLLOWEDBY/qualifier)"
    try:
        comparisons = Pattern(pattern).inspect().comparisons
    except Exception as exc:  # stix2-patterns raises several types, ParseException among them
        return [], f"pattern does not parse: {str(exc)[:80]}"
    found: list[Observable] = []
    for obj_type, items in comparisons.items():
        for path, op, raw in items:
            kind = _kind(obj_type, list(path))
            if kind is None or op not in ("=", "ISSUBSET", "IN"):
                return (
                    [],
                    f"{obj_type}:{'.'.join(map(str, path))} {op} is not matched by the sensor",
                )
            found.extend(Observable(kind, v) for v in _values(raw))
    return found, None if found else "no observable in the pattern"


def _expired(obj: dict[str, Any], now_us: int) -> bool:
    until = obj.get("valid_until")
    try:
        return isinstance(until, str) and ts_to_us(until) <= now_us
    except ValueError:
        return False  # a malformed valid_until does not hide an indicator


def indicators_of(objects: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """STIX-pattern indicators still in force: not revoked, valid_until not past."""
    now_us = int(time.time() * 1_000_000)
    for obj in objects:
        stix = obj.get("type") == "indicator" and obj.get("pattern_type", "stix") == "stix"
        if stix and not obj.get("revoked") and not _expired(obj, now_us):
            yield obj


def load_objects(objects: Iterable[dict[str, Any]]) -> Loaded:
    loaded = Loaded([], [], [], [], [], [])
    for obj in indicators_of(objects):
        observables, why = pattern_observables(str(obj.get("pattern", "")))
        if why:
            loaded.skipped.append((str(obj.get("id")), why))
            continue
        owner = len(loaded.ids)
        loaded.ids.append(str(obj.get("id")))
        loaded.names.append(str(obj.get("name") or ""))
        for each in observables:
            loaded.kinds.append(each.kind)
            loaded.values.append(each.value)
            loaded.owners.append(owner)
    return loaded


class BundleError(Exception):
    """An indicators file that is not a STIX bundle (or a JSON list of objects)."""


def load_bundle(path: str) -> Loaded:
    try:
        with open(path, "rb") as fh:
            data = orjson.loads(fh.read())
    except OSError as exc:
        raise BundleError(f"cannot read {path}: {exc.strerror}") from None
    except orjson.JSONDecodeError as exc:
        raise BundleError(f"{path} is not JSON: {exc}") from None
    if isinstance(data, dict) and isinstance(data.get("objects"), list):
        objects = data["objects"]
    elif isinstance(data, list):
        objects = data
    else:
        raise BundleError(f"{path} is not a STIX bundle (no 'objects' list)")
    return load_objects(o for o in objects if isinstance(o, dict))
