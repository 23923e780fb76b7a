"""A recall end to end over real sync: a → b → c (a on both backends). Versions travel by
push, arrivals are written by receive, and each node's receipt walks back to a."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from minga.federation import receipt_tally
from minga.federation.receipt_drain import Drain
from minga.federation.receipt_models import OutgoingReceipt
from minga.intel import service as intel
from minga.policy import Tlp
from tests.factories import indicator
from tests.federation.localnodes import LocalNode, connect, sqlite_copy, start_node, vouch


@pytest.fixture
def chain(
    db_url: str, sqlite_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[list[LocalNode]]:
    monkeypatch.setenv("MINGA_FEDERATION_RECEIPTS_SECONDS", "0")  # the test drives the drains
    started = [
        start_node("a", db_url, "GT"),
        start_node("b", sqlite_copy(sqlite_template, tmp_path), "PA"),
        start_node("c", sqlite_copy(sqlite_template, tmp_path), "CR"),
    ]
    a, b, c = started
    connect(a, b)
    connect(b, c)
    vouch(c, b, a)  # c verifies a's versions through b, as b's node identity says
    yield started
    for n in started:
        n.close()


def tally(node: LocalNode, stix_id: str) -> receipt_tally.Summary:
    with node.sessions() as s:
        return receipt_tally.summary(s, stix_id)


def test_a_recall_reaches_every_node_and_every_receipt_comes_back(chain: list[LocalNode]):
    a, b, c = chain
    obj = indicator(51)
    a.publish(obj, tlp=Tlp.GREEN)
    assert a.push(b).sent >= 1 and b.push(c).sent >= 1
    b_drain = Drain(b.sessions, b.name, http=a.client)
    c_drain = Drain(c.sessions, c.name, http=b.client)

    # Every version c stored (a's identity and the indicator) is acknowledged, via b.
    assert c_drain.round() >= 1
    assert b_drain.round() >= 2
    got = tally(a, obj["id"])
    assert (got.received, got.recalled) == (2, 0)
    assert {n.node for n in got.nodes} == {"b", "c"}

    with a.sessions() as s:
        intel.revoke(s, a.member, obj["id"])
        s.commit()
    assert a.push(b).sent == 1 and b.push(c).sent == 1
    assert c_drain.round() == 1
    assert b_drain.round() == 2
    got = tally(a, obj["id"])
    assert (got.received, got.recalled) == (2, 2)
    assert c_drain.round() == 0 and b_drain.round() == 0  # quiet once everything is through
    for node in (b, c):
        with node.sessions() as s:
            left = s.scalars(select(OutgoingReceipt).where(OutgoingReceipt.status != "sent"))
            assert list(left) == []
