"""`id_type` answers as the STIX id regular expression does, without its backtracking."""

from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st

from minga.intel.stix import ID_RE, check_object, id_type

UUID4 = "6ba7b810-9dad-41d1-80b4-00c04fd430c8"


def regex_type(value: str) -> str | None:
    found = ID_RE.match(value)
    return found.group(1) if found else None


def test_the_shapes_an_id_takes_or_almost_takes():
    cases = {
        f"indicator--{UUID4}": "indicator",
        f"x-acme-thing--{UUID4}": "x-acme-thing",
        f"a-b--c--{UUID4}": "a-b--c",  # the type pattern allows a double dash inside
        f"ab--{UUID4}": None,  # a type has three characters at least
        f"indicator---{UUID4}": None,
        f"-indicator--{UUID4}": None,
        f"Indicator--{UUID4}": None,
        f"indicator--{UUID4}\n": None,
        f"indicator--{UUID4.upper()}": "indicator",
        f"indicator--{uuid.UUID(int=5)}": None,  # no RFC 4122 version nibble
        f"indicator--{UUID4[:-1]}": None,
        "indicator--": None,
        "": None,
    }
    for value, expected in cases.items():
        assert (regex_type(value), id_type(value)) == (expected, expected), value


@given(
    st.text(alphabet="abz09-", max_size=8),
    st.sampled_from(["--", "-", "---", ""]),
    st.uuids(),
    st.sampled_from(["", "\n", "a", "-"]),
    st.integers(min_value=0, max_value=36),
)
def test_id_type_agrees_with_the_regex(kind, dash, value, tail, cut):
    text = str(value)
    for candidate in (kind + dash + text + tail, kind + dash + text[:cut]):
        assert id_type(candidate) == regex_type(candidate)


def test_a_bad_id_is_still_named_in_the_problems():
    obj = {"type": "malware", "spec_version": "2.1", "id": f"malware--{uuid.UUID(int=5)}",
           "created": "2024-03-01T12:00:00Z", "modified": "2024-03-01T12:00:00Z",
           "is_family": True, "created_by_ref": "identity--nope"}  # fmt: skip
    problems = check_object(obj)
    assert any("RFC 4122" in p for p in problems)
    assert any(p.startswith("created_by_ref must be a STIX identifier") for p in problems)
