"""Kept signatures: a version made here is signed once, the first time it leaves; serving it
again (pull or push, any peer) attaches the kept signature; another key is signed anew; a kept
signature that does not match is refused by the peer like any bad signature."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from nacl.signing import SigningKey
from sqlalchemy import select, update

from minga.federation import signatures
from minga.federation.keys import NodeIdentity
from minga.federation.models import VersionSignature
from minga.federation.serve import select_for_peer
from minga.federation.signing import signature_of, verify
from tests.federation.localnodes import LocalNode, connect, sqlite_copy, start_node
from tests.federation.test_sync import indicator, stored


@pytest.fixture
def nodes(db_url: str, sqlite_template: Path, tmp_path: Path) -> Iterator[list[LocalNode]]:
    started = [
        start_node("a", db_url, "GT"),
        start_node("b", sqlite_copy(sqlite_template, tmp_path)),
    ]
    yield started
    for n in started:
        n.close()


def served(node: LocalNode, to: LocalNode, me: NodeIdentity | None = None) -> tuple[dict, list]:
    """The indicator as `node` serves it to `to`, and the signatures it made doing so (kept)."""
    with node.sessions() as s:
        out = select_for_peer(s, node.peer(to.name), me or node.identity, after_us=0, limit=10)
        signatures.keep(s, out.signed)
        s.commit()
    (obj,) = [o for o in out.objects if o["type"] == "indicator"]
    return obj, out.signed


def test_a_version_is_signed_once_and_its_kept_signature_verifies(nodes: list[LocalNode]):
    a, b = nodes
    connect(a, b)
    a.publish(indicator(1))
    first, made = served(a, b)
    assert len(made) == 2  # a's operator identity and the indicator
    again, made_again = served(a, b)
    assert made_again == []  # served again: nothing signed
    assert again == first
    keys = {a.identity.fingerprint: a.identity.public_key}
    assert verify(again, keys.get).origin_node == "a"

    rotated = NodeIdentity(name="a", url=a.identity.url, signing_key=SigningKey.generate())
    anew, made_anew = served(a, b, rotated)  # another key: signed anew, and kept for it
    assert len(made_anew) == 2 and signature_of(anew) != signature_of(first)
    assert verify(anew, {rotated.fingerprint: rotated.public_key}.get).origin_node == "a"
    with a.sessions() as s:
        assert {k.origin_key for k in s.scalars(select(VersionSignature))} == {rotated.fingerprint}


def test_a_kept_signature_that_does_not_match_is_refused_and_nothing_stored(
    nodes: list[LocalNode],
):
    a, b = nodes
    connect(a, b)
    a.publish(indicator(2))
    _, made = served(a, b)
    assert len(made) == 2
    with a.sessions() as s:  # the kept signatures no longer match what they sign
        s.execute(update(VersionSignature).values(signature="A" * 86 + "=="))
        s.commit()
    got = b.pull(a)
    assert (got.rejected, got.stored) == (2, 0)
    assert stored(b, indicator(2)["id"]) == []
