"""Fast structural checks and normalisation of STIX 2.1 objects.

The stix2 library parses ~2,500 objects/s; bulk sharing needs ten times that, so objects are decoded
with orjson and checked here against the parts of the spec that matter for storage and sharing
(ids, timestamps, references, required properties, TLP). Indicator patterns take a cheap regular
expression for the common shape and fall back to the stix2-patterns grammar for anything else.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from stix2patterns.validator import run_validator

from minga.errors import InvalidInput
from minga.policy import Tlp

# STIX 2.1 ids take RFC 4122 UUIDs: a version nibble (1-5 there, 6-8 in its successor RFC 9562)
# and the variant bits 10xx. Any other 8-4-4-4-12 hex string is only shaped like one.
ANY_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-8][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}"
_TYPE = r"[a-z0-9][a-z0-9-]{1,248}[a-z0-9]"
TYPE_RE = re.compile(rf"^{_TYPE}\Z")
ID_RE = re.compile(rf"^({_TYPE})--{UUID}\Z")
ID_SHAPE_RE = re.compile(rf"^({_TYPE})--{ANY_UUID}\Z")
UUID_END_RE = re.compile(rf"{UUID}\Z")
TS_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z\Z")
TS_EXAMPLE = "2024-01-31T12:00:00.000Z"
# Properties the STIX 2.1 objects define as timestamps (checked wherever they appear).
TIMESTAMP_PROPS = (
    "created", "modified", "valid_from", "valid_until", "first_seen", "last_seen",
    "first_observed", "last_observed", "published", "start_time", "stop_time",
)  # fmt: skip
# Deepest nesting an object may have (the object itself is level 1). STIX content nests a few
# levels; far deeper JSON only serves to exhaust recursion in whatever reads it next.
MAX_DEPTH = 100
MAX_PATTERN = 100_000  # characters of an indicator pattern the grammar is asked to parse

SCO_TYPES = frozenset(
    {
        "artifact", "autonomous-system", "directory", "domain-name", "email-addr",
        "email-message", "file", "ipv4-addr", "ipv6-addr", "mac-addr", "mutex",
        "network-traffic", "process", "software", "url", "user-account",
        "windows-registry-key", "x509-certificate",
    }
)  # fmt: skip

REQUIRED: dict[str, tuple[str, ...]] = {
    "attack-pattern": ("name",),
    "campaign": ("name",),
    "course-of-action": ("name",),
    "grouping": ("context", "object_refs"),
    "identity": ("name",),
    "incident": ("name",),
    "indicator": ("pattern", "pattern_type", "valid_from"),
    "infrastructure": ("name",),
    "intrusion-set": ("name",),
    "malware": ("is_family",),
    "malware-analysis": ("product",),
    "note": ("content", "object_refs"),
    "observed-data": ("first_observed", "last_observed", "number_observed"),
    "opinion": ("opinion", "object_refs"),
    "report": ("name", "published", "object_refs"),
    "threat-actor": ("name",),
    "tool": ("name",),
    "vulnerability": ("name",),
    "relationship": ("relationship_type", "source_ref", "target_ref"),
    "sighting": ("sighting_of_ref",),
    "marking-definition": ("created",),
    "language-content": ("object_ref", "contents"),
    "extension-definition": ("name", "schema", "version", "extension_types"),
}

# TLP 1.0 (STIX 2.1 section 7.2.1.4) and TLP 2.0 (OASIS extension) marking-definition ids.
TLP_MARKINGS: dict[str, Tlp] = {
    "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9": Tlp.CLEAR,
    "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da": Tlp.GREEN,
    "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82": Tlp.AMBER,
    "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed": Tlp.RED,
    "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487": Tlp.CLEAR,
    "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb": Tlp.GREEN,
    "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421": Tlp.AMBER,
    "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003": Tlp.AMBER_STRICT,
    "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1": Tlp.RED,
}
TLP2_MARKING_ID: dict[Tlp, str] = {
    Tlp.CLEAR: "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    Tlp.GREEN: "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    Tlp.AMBER: "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    Tlp.AMBER_STRICT: "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    Tlp.RED: "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}

# A quoted string: characters other than ' and \, or the escapes \' and \\. Written as an
# unrolled loop (runs of plain characters, then one escape and the next run): the same strings
# as "'(?:[^'\\]|\\['\\])*'", matched about three times faster (no alternation per character).
QUOTED = r"'[^'\\]*(?:\\['\\][^'\\]*)*'"
_STR = QUOTED
_VAL = rf"(?:{_STR}|-?\d+(?:\.\d+)?|true|false|[hbt]{_STR})"
_PATH = r"[a-z0-9][a-z0-9-]*:[A-Za-z0-9_]+(?:\.(?:[A-Za-z0-9_]+|'[^'\\]+')|\[(?:\d+|\*)\])*"
_CMP = rf"{_PATH}\s*(?:=|!=|>=|<=|>|<|LIKE|MATCHES)\s*{_VAL}"
SIMPLE_PATTERN = re.compile(rf"\[\s*{_CMP}(?:\s+(?:AND|OR)\s+{_CMP})*\s*\]")


@lru_cache(maxsize=65536)  # bulk content repeats timestamps (created == modified == valid_from)
def ts_to_us(value: str) -> int:
    """Microseconds since the epoch of a STIX timestamp (sub-microsecond digits are dropped).

    ValueError, with a sentence, for anything else: another shape, year 0000, 2024-02-30."""
    m = TS_RE.match(value) if isinstance(value, str) else None
    if m is None:
        shown = value[:60] if isinstance(value, str) else value
        raise ValueError(f"{shown!r} is not a STIX timestamp (YYYY-MM-DDTHH:MM:SS[.s+]Z)")
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    frac = (m.group(7) or "").ljust(6, "0")[:6]
    try:
        dt = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:
        raise ValueError(f"{value!r} is not a real date and time") from None
    return int(dt.timestamp()) * 1_000_000 + int(frac)


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def us_to_ts(us: int) -> str:
    """STIX/TAXII timestamp with microsecond precision."""
    # isoformat always writes four-digit years (strftime's %Y does not before year 1000).
    return (EPOCH + timedelta(microseconds=us)).isoformat(timespec="microseconds")[:26] + "Z"


def format_ts(dt: datetime) -> str:
    """A STIX timestamp (millisecond precision) of an aware or UTC datetime."""
    dt = dt.astimezone(UTC) if dt.tzinfo else dt
    return dt.isoformat(timespec="milliseconds")[:23] + "Z"


def _earlier(a: str, b: str) -> bool:
    if len(a) == len(b):  # same precision: the text orders like the instant
        return a < b
    return ts_to_us(a) < ts_to_us(b)


def now_ts() -> str:
    return format_ts(datetime.now(UTC))


def check_pattern(pattern: str) -> str | None:
    """None if `pattern` is a valid STIX pattern, else the grammar's complaint."""
    if not pattern.strip():
        return "the pattern is empty"
    if SIMPLE_PATTERN.fullmatch(pattern):
        return None
    if len(pattern) > MAX_PATTERN:
        return f"the pattern is longer than {MAX_PATTERN} characters"
    try:
        errors = run_validator(pattern)
    except RecursionError:  # the grammar recurses once per operator
        return "the pattern is nested too deeply or chains too many expressions"
    except Exception as exc:  # the grammar's own failures on odd input are still bad input
        return f"the pattern cannot be parsed ({type(exc).__name__})"
    return "; ".join(errors) if errors else None


def too_deep(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Does JSON `value` nest more than `limit` levels (itself being level 1)? Iterative."""
    if type(value) is list and all(type(v) is str for v in value):  # most lists in STIX
        return limit < 1
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        children: Iterable[Any]
        if type(item) is dict:
            children = item.values()
        elif type(item) is list:
            children = item
        else:
            continue
        for child in children:
            if type(child) is dict or type(child) is list:
                stack.append((child, depth + 1))
    return False


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def id_type(value: str) -> str | None:
    """The type of STIX identifier `value` (None if it is none): what `ID_RE` matches, without
    its backtracking (the type's characters also match the UUID, so the regex walks back over
    it: about 3 µs an id, three ids an object in a bulk write). The UUID has a fixed length."""
    if len(value) < 41 or value[-38:-36] != "--" or not UUID_END_RE.match(value, len(value) - 36):
        return None
    otype = value[:-38]
    return otype if TYPE_RE.match(otype) else None


def _id_problem(key: str, value: Any, otype: str | None = None) -> str | None:
    """Why `value` is not a STIX identifier (of type `otype`, if given), or None."""
    found = id_type(value) if isinstance(value, str) else None
    if found is not None and (otype is None or found == otype):
        return None
    want = f"'{otype}--' followed by a UUID" if otype else "a STIX identifier (type--uuid)"
    shape = ID_SHAPE_RE.match(value) if isinstance(value, str) else None
    if shape is not None and (otype is None or shape.group(1) == otype):
        return f"{key} must use an RFC 4122 UUID (STIX 2.1), got {_shown(value)}"
    return f"{key} must be {want}, got {_shown(value)}"


def _check_ref(key: str, value: Any) -> str | None:
    return _id_problem(key, value)


def tlp_of(obj: dict[str, Any]) -> Tlp | None:
    """The TLP marking an object carries, if any; several different TLP markings are an error."""
    found = {TLP_MARKINGS[r] for r in obj.get("object_marking_refs") or () if r in TLP_MARKINGS}
    if len(found) > 1:
        raise InvalidInput("an object may carry only one TLP marking")
    return found.pop() if found else None


def _ts_problem(prop: str, value: Any) -> str | None:
    if not isinstance(value, str):
        return f"{prop} must be a STIX timestamp such as {TS_EXAMPLE}"
    try:
        ts_to_us(value)
    except ValueError as exc:
        return f"{prop}: {exc}"
    return None


def check_object(obj: Any) -> list[str]:
    """Every structural problem of one STIX 2.1 object, as sentences (empty if it is fine).

    Never raises, whatever JSON `obj` is: everything that stores, versions or renders the
    object afterwards may rely on what is checked here (ids, timestamps, refs, nesting)."""
    if not isinstance(obj, dict):
        return ["each object must be a JSON object"]
    otype = obj.get("type")
    if not isinstance(otype, str) or not TYPE_RE.match(otype):
        return ["type must be 3-250 characters of a-z, 0-9 and '-'"]
    problems: list[str] = []
    err = _id_problem("id", obj.get("id"), otype)
    if err:
        problems.append(err)
    spec = obj.get("spec_version", "2.1" if otype in SCO_TYPES else None)
    if spec != "2.1":
        problems.append(
            "spec_version must be '2.1' (STIX 2.0 content is upgraded by `minga ingest`)"
            if spec == "2.0"
            else "spec_version must be '2.1'"
        )
    if otype not in SCO_TYPES:
        for prop in ("created", "modified") if otype != "marking-definition" else ("created",):
            if prop not in obj:
                problems.append(f"{prop} must be a STIX timestamp such as {TS_EXAMPLE}")
    times_ok = True
    for prop in TIMESTAMP_PROPS:
        if prop in obj and (err := _ts_problem(prop, obj[prop])):
            problems.append(err)
            times_ok = times_ok and prop not in ("created", "modified")
    if (
        times_ok
        and "modified" in obj
        and "created" in obj
        and _earlier(obj["modified"], obj["created"])
    ):
        problems.append("modified must not be earlier than created")
    for prop in REQUIRED.get(otype, ()):
        if obj.get(prop) in (None, "", []):
            problems.append(f"{otype} requires the property {prop!r}")
    for key, value in obj.items():
        if (type(value) is dict or type(value) is list) and too_deep(value, MAX_DEPTH - 1):
            problems.append(f"{key} is nested more than {MAX_DEPTH} levels deep")
            continue
        if key.endswith("_ref"):
            err = _check_ref(key, value)
            if err:
                problems.append(err)
        elif key.endswith("_refs"):
            if not isinstance(value, list):
                problems.append(f"{key} must be a list of STIX identifiers")
            else:
                problems.extend(e for v in value if (e := _check_ref(key, v)))
    if "revoked" in obj and not isinstance(obj["revoked"], bool):
        problems.append("revoked must be true or false")
    if otype == "indicator" and obj.get("pattern_type") == "stix":
        pattern = obj.get("pattern")
        if isinstance(pattern, str):
            err = check_pattern(pattern)
            if err:
                problems.append(f"pattern is not a valid STIX pattern: {err}")
        else:
            problems.append("pattern must be a string")
    if not problems:
        try:
            tlp_of(obj)
        except InvalidInput as exc:
            problems.append(exc.message)
    return problems


def version_of(obj: dict[str, Any]) -> str:
    """The version string of an object: modified, else created, else '' for SCOs."""
    return str(obj.get("modified") or obj.get("created") or "")


def search_text(obj: dict[str, Any]) -> str:
    """Lower-cased text a free-text search looks in: names, values, patterns, descriptions."""
    parts: list[str] = [obj["id"]]
    for key in ("name", "value", "pattern", "key", "path", "number", "description", "content"):
        value = obj.get(key)
        if value is not None:
            parts.append(str(value)[:600])
    for key in ("aliases", "labels"):
        value = obj.get(key)
        if isinstance(value, list):
            parts.extend(str(v) for v in value[:20])
    refs = obj.get("external_references")
    for ref in refs[:10] if isinstance(refs, list) else ():
        if isinstance(ref, dict) and ref.get("external_id"):
            parts.append(str(ref["external_id"]))
    hashes = obj.get("hashes")
    if isinstance(hashes, dict):
        parts.extend(str(v) for v in hashes.values())
    return " ".join(parts).lower()[:2000]
