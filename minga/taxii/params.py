"""TAXII URL parameters (limit, added_after, next, match[...]), validated: malformed is a 400."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from minga.errors import InvalidInput
from minga.intel import service as intel
from minga.intel.stix import ID_SHAPE_RE, TYPE_RE, ts_to_us

SPEC_VERSION_RE = re.compile(r"^[0-9]{1,3}\.[0-9]{1,3}\Z")
LIMIT_RE = re.compile(r"^[0-9]+\Z")  # ASCII digits only: str.isdigit() also takes '²' and '١'
MAX_KEY = 2**63 - 1  # cursor parts are BIGINT columns on both backends


@dataclass(slots=True)
class Params:
    """The TAXII URL parameters of a GET/DELETE, validated."""

    limit: int
    added_after_us: int | None = None
    next: str | None = None
    ids: list[str] = field(default_factory=list)
    types: list[str] = field(default_factory=list)
    versions: list[str] = field(default_factory=list)
    spec_versions: list[str] = field(default_factory=list)


def _split(values: Sequence[str]) -> list[str]:
    return [part.strip() for v in values for part in v.split(",") if part.strip()]


def _limit(raw: str, max_limit: int) -> int:
    text = raw.strip()
    if not LIMIT_RE.match(text) or not text.strip("0"):
        raise InvalidInput(f"limit must be a positive whole number, not {text[:40]!r}")
    digits = text.lstrip("0")
    # More digits than any page size has is simply "as many as you give": no huge int() parse.
    return max_limit if len(digits) > 9 else min(int(digits), max_limit)


def _cursor(raw: str) -> str:
    """A `next` this node issued; anything else (or out of range) is a 400 now, not later."""
    if len(raw) > 200:
        raise InvalidInput("the next cursor is not one this node issued")
    newest_first, added, pk = intel.decode_cursor(raw)
    in_range = 0 <= added <= MAX_KEY and 0 <= pk <= MAX_KEY
    # int() also reads '+1', ' 1', '1_0' and non-ASCII digits: only the form issued is taken.
    if not in_range or intel.encode_cursor(added, pk, newest_first) != raw.rstrip("="):
        raise InvalidInput("the next cursor is not one this node issued")
    return raw


def parse_params(
    args: Mapping[str, Sequence[str]], *, default_limit: int, max_limit: int
) -> Params:
    """Parameters from a query string (every value a list); anything malformed is InvalidInput."""
    params = Params(limit=min(default_limit, max_limit))
    raw_limit = args.get("limit")
    if raw_limit:
        params.limit = _limit(raw_limit[-1], max_limit)
    raw_after = args.get("added_after")
    if raw_after:
        try:
            params.added_after_us = ts_to_us(raw_after[-1].strip())
        except ValueError:
            raise InvalidInput(
                f"added_after must be a timestamp such as 2024-01-31T12:00:00.000000Z, "
                f"not {raw_after[-1][:60]!r}"
            ) from None
    if args.get("next"):
        params.next = _cursor(args["next"][-1])
    params.ids = _split(args.get("match[id]", ()))
    # A filter may name any id-shaped value (it then matches nothing): only shape is checked.
    bad = [i for i in params.ids if not ID_SHAPE_RE.match(i)]
    if bad:
        raise InvalidInput(f"match[id] must list STIX identifiers, not {bad[0][:100]!r}")
    params.types = _split(args.get("match[type]", ()))
    bad = [t for t in params.types if not TYPE_RE.match(t)]
    if bad:
        raise InvalidInput(f"match[type] must list STIX types, not {bad[0][:100]!r}")
    params.versions = _split(args.get("match[version]", ()))
    for v in params.versions:
        if v not in ("first", "last", "all"):
            try:
                ts_to_us(v)
            except ValueError:
                raise InvalidInput(
                    f"match[version] takes first, last, all or timestamps, not {v[:60]!r}"
                ) from None
    params.spec_versions = _split(args.get("match[spec_version]", ()))
    bad = [s for s in params.spec_versions if not SPEC_VERSION_RE.match(s)]
    if bad:
        raise InvalidInput(f"match[spec_version] takes versions such as 2.1, not {bad[0][:40]!r}")
    return params
