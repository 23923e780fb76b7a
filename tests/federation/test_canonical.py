"""The fast path of `signing.canonical` writes exactly the bytes RFC 8785 (`rfc8785`) writes."""

from __future__ import annotations

from typing import Any

import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from minga.federation.signing import canonical

KEYS = st.text(alphabet=st.characters(codec="ascii"), max_size=8)
LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(-(2**53) + 1, 2**53 - 1)
    | st.text(max_size=20)  # any code point: escapes, non-ASCII, astral characters
)
DOCUMENTS = st.recursive(
    LEAVES,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=30,
)


@settings(max_examples=1500, deadline=None)
@given(DOCUMENTS)
def test_plain_documents_canonicalise_as_rfc8785(doc: Any) -> None:
    try:
        expected = rfc8785.dumps(doc)
    except Exception:  # what rfc8785 refuses (lone surrogates), canonical refuses too
        return
    assert canonical(doc) == expected


def test_what_the_fast_path_leaves_out_still_matches() -> None:
    for doc in ({"ä": 1, "z": 2, "a": [1.5, 80.0, 1e21]}, {"n": -0.0, "\U0001f600": "\ue000"}):
        assert canonical(doc) == rfc8785.dumps(doc)


def test_stix_like_objects_with_escapes_and_unicode_match() -> None:
    texts = [
        "plain",
        "\x00\x01\x08\x0c\x1f\x7f",
        '\n\r\t"\\/',
        "\u2028\u2029 é ñ ü",
        "日本語 😀 \U0010ffff \ue000",
        "",
    ]
    for n, text in enumerate(texts * 20):
        doc = {
            "object": {
                "type": "indicator",
                "id": f"indicator--{n:08d}-0000-4000-8000-000000000000",
                "name": text * (n % 3 + 1),
                "labels": [text, str(n)],
                "confidence": n,
                "x_big": 2**53 - 1 - n,
                "x_small": -(2**53) + 1 + n,
                "revoked": n % 2 == 0,
                "external_references": [{"source_name": text, "external_id": None}],
            },
            "origin_node": "csirt-gt",
            "reach": "federation",
        }
        assert canonical(doc) == rfc8785.dumps(doc)


def test_too_deep_for_orjson_falls_back_to_rfc8785() -> None:
    doc: Any = 1
    for _ in range(300):  # orjson refuses more than 254 levels
        doc = [doc]
    assert canonical(doc) == rfc8785.dumps(doc)
