"""Signed provenance: a version signed at its origin verifies at every hop; any change fails."""

from __future__ import annotations

import copy

import pytest
from nacl.signing import SigningKey

from minga.errors import InvalidInput
from minga.federation.keys import (
    NodeIdentity,
    display_fingerprint,
    fingerprint,
    parse_fingerprint,
)
from minga.federation.signing import (
    EXTENSION_ID,
    SignatureRejected,
    provenance_of,
    sign,
    sign_document,
    sign_documents,
    verify,
    verify_document,
    with_hop_count,
)

INDICATOR = {
    "type": "indicator",
    "spec_version": "2.1",
    "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
    "created": "2026-12-01T10:00:00.000Z",
    "modified": "2026-12-01T10:00:00.000Z",
    "name": "Phishing URL — señuelo",
    "pattern": "[url:value = 'http://example.test/a']",
    "pattern_type": "stix",
    "valid_from": "2026-12-01T10:00:00Z",
    "confidence": 80,
    "extensions": {"extension-definition--aaaaaaaa-0000-4000-8000-000000000000": {"x": 1.5}},
}


def node(name: str = "csirt-gt") -> NodeIdentity:
    return NodeIdentity(name=name, url="http://127.0.0.1:1", signing_key=SigningKey.generate())


def keys_of(*nodes: NodeIdentity):
    known = {n.fingerprint: n.public_key for n in nodes}
    return known.get


def test_signed_version_verifies_and_keeps_other_extensions():
    origin = node()
    signed = sign(INDICATOR, origin)
    prov = verify(signed, keys_of(origin))
    assert (prov.origin_node, prov.origin_key, prov.hop_count) == (
        "csirt-gt",
        origin.fingerprint,
        0,
    )
    assert "extension-definition--aaaaaaaa-0000-4000-8000-000000000000" in signed["extensions"]
    assert "extensions" in INDICATOR and EXTENSION_ID not in INDICATOR["extensions"]


def test_hop_count_changes_without_breaking_the_signature():
    origin = node()
    moved = with_hop_count(sign(INDICATOR, origin), 2)
    assert verify(moved, keys_of(origin)).hop_count == 2


def test_key_order_and_whitespace_do_not_matter():
    origin = node()
    signed = sign(INDICATOR, origin)
    reordered = dict(reversed(list(signed.items())))
    assert verify(reordered, keys_of(origin)).origin_node == "csirt-gt"


@pytest.mark.parametrize(
    "change",
    [
        lambda o: o.__setitem__("pattern", "[url:value = 'http://example.test/b']"),
        lambda o: o.__setitem__("confidence", 81),
        lambda o: o["extensions"][EXTENSION_ID].__setitem__("origin_node", "csirt-cr"),
        lambda o: o.__setitem__("created_by_ref", "identity--5c5b6a5e-0b1d-4c1e-9b1e-1a2b3c4d5e6f"),
    ],
)
def test_any_change_to_the_signed_content_is_rejected(change):
    origin = node()
    signed = copy.deepcopy(sign(INDICATOR, origin))
    change(signed)
    with pytest.raises(SignatureRejected):
        verify(signed, keys_of(origin))


def test_unknown_key_missing_provenance_and_another_nodes_key_are_rejected():
    origin, other = node(), node("csirt-cr")
    signed = sign(INDICATOR, origin)
    with pytest.raises(SignatureRejected, match="not known"):
        verify(signed, keys_of(other))
    with pytest.raises(SignatureRejected, match="no signed provenance"):
        verify(INDICATOR, keys_of(origin))
    # a key presented under the origin's fingerprint but not matching it
    with pytest.raises(SignatureRejected, match="does not match its fingerprint"):
        verify(signed, lambda fp: other.public_key)
    forged = sign(INDICATOR, NodeIdentity("csirt-gt", "", other.signing_key))
    forged["extensions"][EXTENSION_ID]["origin_key"] = origin.fingerprint
    with pytest.raises(SignatureRejected, match="signature does not match"):
        verify(forged, keys_of(origin))


def test_malformed_provenance_is_a_clear_rejection():
    bad = copy.deepcopy(INDICATOR)
    bad["extensions"][EXTENSION_ID] = {"origin_node": "x", "origin_key": 3, "hop_count": 0}
    with pytest.raises(SignatureRejected, match="malformed"):
        provenance_of(bad)
    bad["extensions"][EXTENSION_ID] = {"origin_node": "x", "origin_key": "k", "hop_count": -1}
    with pytest.raises(SignatureRejected, match="malformed"):
        provenance_of(bad)


def test_documents_sign_and_verify():
    origin = node()
    receipt = sign_document({"object": INDICATOR["id"], "recalled": True}, origin.signing_key)
    assert verify_document(receipt, origin.public_key) == {
        "object": INDICATOR["id"],
        "recalled": True,
    }
    receipt["recalled"] = False
    with pytest.raises(SignatureRejected):
        verify_document(receipt, origin.public_key)


def test_documents_signed_in_a_batch_verify_one_by_one_with_one_signature_check():
    origin, other = node(), node("csirt-cr")
    docs = [{"object": f"indicator--{n}", "n": n} for n in range(5)]
    signed = sign_documents(docs, origin.signing_key)
    assert sign_documents([], origin.signing_key) == []
    checked: set[tuple[bytes, bytes]] = set()
    for doc, out in zip(docs, signed, strict=True):
        assert verify_document(out, origin.public_key) == doc  # alone, as an origin gets it
        assert verify_document(out, origin.public_key, checked) == doc
    assert len(checked) == 1  # one root: one signature check for the batch
    (single,) = sign_documents(docs[:1], origin.signing_key)
    assert verify_document(single, origin.public_key) == docs[0]

    rejected = [
        {**signed[1], "n": 9},  # content changed
        {**signed[1], "batch": signed[2]["batch"]},  # another document's path
        {**signed[1], "batch": {**signed[1]["batch"], "path": signed[1]["batch"]["path"][1:]}},
        {**signed[1], "batch": {**signed[1]["batch"], "path": ["Xnope"]}},
        {**signed[1], "batch": {**signed[1]["batch"], "path": ["L" + "A" * 8]}},
        {**signed[1], "batch": "nope"},
        {**signed[1], "signature": signed[1]["batch"]["signature"]},  # both forms at once
    ]
    for bad in rejected:
        with pytest.raises(SignatureRejected):
            verify_document(bad, origin.public_key)
        with pytest.raises(SignatureRejected):  # a verified root does not vouch for changes
            verify_document(bad, origin.public_key, checked)
    with pytest.raises(SignatureRejected):  # another node's key
        verify_document(signed[0], other.public_key)


def test_fingerprints_read_back_as_typed():
    origin = node()
    fp = fingerprint(origin.public_key)
    shown = display_fingerprint(fp)
    assert len(shown.split()) == 16
    assert parse_fingerprint(shown) == fp
    assert parse_fingerprint("SHA256:" + fp.upper()) == fp
    with pytest.raises(InvalidInput, match="64 hexadecimal digits"):
        parse_fingerprint("abcd")


def test_reach_and_recipients_are_signed_by_the_origin():
    origin = node()
    signed = sign(INDICATOR, origin, terms={"reach": "connected", "recipients": ["identity--x"]})
    ext = signed["extensions"][EXTENSION_ID]
    assert (ext["reach"], ext["recipients"]) == ("connected", ["identity--x"])
    assert verify(with_hop_count(signed, 1), keys_of(origin)).hop_count == 1
    for field, value in (("reach", "federation"), ("recipients", [])):
        changed = copy.deepcopy(signed)
        changed["extensions"][EXTENSION_ID][field] = value
        with pytest.raises(SignatureRejected, match="does not match"):
            verify(changed, keys_of(origin))
    dropped = copy.deepcopy(signed)
    del dropped["extensions"][EXTENSION_ID]["recipients"]
    with pytest.raises(SignatureRejected, match="does not match"):
        verify(dropped, keys_of(origin))
