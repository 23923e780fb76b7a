"""Hypothesis strategies producing bytes for each fuzz target: structured inputs (JSON near
STIX and MISP, CSV rows, query strings, report text) mixed with raw bytes and seed mutations."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import orjson
from hypothesis import strategies as st

from tests.fuzz.seeds import SEEDS

STIX_KEYS = [
    "type", "id", "spec_version", "created", "modified", "valid_from", "valid_until",
    "pattern", "pattern_type", "created_by_ref", "object_marking_refs", "object_refs",
    "revoked", "name", "objects", "first_observed", "value", "labels", "x_extra", "published",
]  # fmt: skip
ODD_TIMES = [
    "0000-01-01T00:00:00Z", "2024-02-30T00:00:00Z", "2024-01-01T24:00:00Z",
    "9999-12-31T23:59:59.999999999Z", "0001-01-01T00:00:00Z", "2024-01-01T00:00:60Z",
    "2024-01-01T00:00:00Z\n", "2024-01-01", "",
]  # fmt: skip
ODD_IDS = [
    "indicator--00000000-0000-0000-0000-000000000001", "malware--x", "--",
    "indicator--6d8a7c1e-1d2b-4c3a-9e8f-0a1b2c3d4e5f\n",
    "identity--6D8A7C1E-1D2B-4C3A-9E8F-0A1B2C3D4E5F",
]  # fmt: skip

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20), st.sampled_from(ODD_TIMES + ODD_IDS + ["bundle", "indicator", "2.0"]),
)  # fmt: skip
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(STIX_KEYS) | st.text(max_size=8), inner, max_size=5)
    ),
    max_leaves=20,
)


def _mutated_objects() -> st.SearchStrategy[Any]:
    seeds = [orjson.loads(s) for s in SEEDS["stix_check"]]
    return st.builds(
        lambda base, changes, drop: {
            **{k: v for k, v in base.items() if k not in drop},
            **changes,
        },
        st.sampled_from(seeds),
        st.dictionaries(st.sampled_from(STIX_KEYS), json_values, max_size=3),
        st.sets(st.sampled_from(STIX_KEYS), max_size=2),
    )


def _dumps(value: Any) -> bytes:
    try:
        return orjson.dumps(value)
    except (TypeError, orjson.JSONEncodeError):
        return b"null"


def _bytes_near(name: str) -> st.SearchStrategy[bytes]:
    """Seeds with a few bytes overwritten, cut or doubled."""
    return st.builds(
        lambda seed, at, junk, cut: (seed[:at] + junk + seed[at + cut :])[:100_000],
        st.sampled_from(SEEDS[name]),
        st.integers(0, 400),
        st.binary(max_size=8),
        st.integers(0, 8),
    )


def _json_inputs(name: str) -> st.SearchStrategy[bytes]:
    objects = _mutated_objects()
    bundles = st.builds(
        lambda objs, version: {"type": "bundle", "objects": objs, **version},
        st.lists(objects | json_values, max_size=3),
        st.sampled_from([{}, {"spec_version": "2.0"}, {"spec_version": "2.1"}]),
    )
    return st.one_of(
        objects.map(_dumps), bundles.map(_dumps), json_values.map(_dumps),
        _bytes_near(name), st.binary(max_size=200),
    )  # fmt: skip


def _misp_inputs() -> st.SearchStrategy[bytes]:
    seed = orjson.loads(SEEDS["misp_import"][0])
    keys = st.sampled_from(["info", "uuid", "Tag", "Attribute", "Galaxy", "distribution",
                            "Object", "date", "Orgc", "threat_level_id"])  # fmt: skip
    events = st.builds(
        lambda changes: {"Event": {**seed["Event"], **changes}},
        st.dictionaries(keys, json_values, max_size=3),
    )
    return st.one_of(events.map(_dumps), json_values.map(_dumps), _bytes_near("misp_import"))


def _csv_inputs() -> st.SearchStrategy[bytes]:
    cells = st.one_of(
        st.sampled_from(
            [
                "203.0.113.9",
                "evil[.]com",
                "hxxp://x[.]y/z",
                "d41d8cd98f00b204e9800998ecf8427f",
                "0999-01-01",
                "0000-01-01",
                "2024-02-30",
                "99999999999999",
                "-1",
                "0001-01-01T00:00:00+05:00",
                "tlp:red",
                "red",
                "cr",
                "",
            ]
        ),
        st.text(max_size=12),
    )
    header = st.sampled_from([
        "date,ip,domain,url,hash,type,country,description", "indicator,type,first_seen,tlp",
        "value", "",
    ])  # fmt: skip
    rows = st.lists(st.lists(cells, max_size=8).map(",".join), max_size=6)
    text = st.builds(lambda h, r: "\n".join([h, *r]), header, rows)
    return st.one_of(text.map(str.encode), _bytes_near("csv_import"), st.binary(max_size=200))


def _query_inputs() -> st.SearchStrategy[bytes]:
    names = st.sampled_from(["limit", "added_after", "next", "match[id]", "match[type]",
                             "match[version]", "match[spec_version]"])  # fmt: skip
    values = st.one_of(
        st.text(max_size=30), st.sampled_from(ODD_TIMES + ODD_IDS + ["١٠", "²", "9" * 5000]),
        st.integers().map(str),
    )  # fmt: skip
    pairs = st.lists(st.tuples(names, values), max_size=5).map(lambda p: urlencode(p).encode())
    return st.one_of(pairs, _bytes_near("taxii_params"))


def _text_inputs(name: str) -> st.SearchStrategy[bytes]:
    return st.one_of(st.text(max_size=300).map(str.encode), _bytes_near(name))


def inputs_for(name: str) -> st.SearchStrategy[bytes]:
    if name in ("stix_check", "ingest_decode", "stix_upgrade"):
        return _json_inputs(name)
    if name == "misp_import":
        return _misp_inputs()
    if name == "csv_import":
        return _csv_inputs()
    if name == "taxii_params":
        return _query_inputs()
    return _text_inputs(name)
