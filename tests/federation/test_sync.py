"""Moving versions between nodes (in-process apps, one database each; the first node on every
backend): signed provenance, reach, TLP, groups naming nodes, loop rules, rejections, cursors."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from nacl.signing import SigningKey
from sqlalchemy import func, select

from minga.accounts.models import GroupMember, Organisation, SharingGroup
from minga.federation.collection import collection_url
from minga.federation.keys import NodeIdentity
from minga.federation.models import Arrival
from minga.federation.push import TAXII
from minga.federation.signing import EXTENSION_ID, provenance_of, sign, verify
from minga.intel.models import objects
from minga.intel.queries import ObjectQuery, list_objects
from minga.intel.stix import us_to_ts
from minga.policy import Reach, Tlp
from tests.conftest import add_member
from tests.federation.localnodes import (
    URL,
    LocalNode,
    connect,
    sqlite_copy,
    start_node,
)


def indicator(n: int, **extra: Any) -> dict[str, Any]:
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--{uuid.UUID(int=n, version=4)}",
        "created": "2026-12-01T10:00:00.000Z",
        "modified": "2026-12-01T10:00:00.000Z",
        "name": f"Phishing domain {n}",
        "pattern": f"[domain-name:value = 'phish{n}.example']",
        "pattern_type": "stix",
        "valid_from": "2026-12-01T10:00:00Z",
        **extra,
    }


def _start(db_url: str, template: Path, tmp: Path, count: int) -> list[LocalNode]:
    """Node `a` on the backend under test, then `b` (and `c`) on SQLite."""
    started = [start_node("a", db_url, "GT")]
    for name, country in list(zip(("b", "c"), ("CR", "SV"), strict=True))[: count - 1]:
        started.append(start_node(name, sqlite_copy(template, tmp), country))
    return started


@pytest.fixture
def nodes(db_url: str, sqlite_template: Path, tmp_path: Path) -> Iterator[list[LocalNode]]:
    started = _start(db_url, sqlite_template, tmp_path, 2)
    yield started
    for n in started:
        n.close()


@pytest.fixture
def trio(db_url: str, sqlite_template: Path, tmp_path: Path) -> Iterator[list[LocalNode]]:
    started = _start(db_url, sqlite_template, tmp_path, 3)
    yield started
    for n in started:
        n.close()


def stored(node: LocalNode, stix_id: str) -> list[Any]:
    with node.sessions() as s:
        return list(s.execute(select(objects).where(objects.c.stix_id == stix_id)).all())


def visible_to(node: LocalNode, stix_id: str, who: Any = None) -> bool:
    with node.sessions() as s:
        principal = who or _refreshed(node)
        page = list_objects(s, principal, ObjectQuery(ids=[stix_id]), limit=10)
        return bool(page.items)


def test_one_hop_keeps_signature_origin_and_owner(nodes: list[LocalNode]) -> None:
    a, b = nodes
    connect(a, b)
    a.publish(indicator(1), tlp=Tlp.AMBER)
    sent = a.push(b)
    assert sent.sent >= 2  # a's operator identity, then the indicator
    (row,) = stored(b, indicator(1)["id"])
    assert (row.origin_node, row.hop_count, row.reach, row.tlp) == ("a", 1, "federation", "amber")
    raw = orjson.loads(row.raw)
    assert provenance_of(raw) is not None
    keys = {a.identity.fingerprint: a.identity.public_key}
    assert verify(raw, keys.get).origin_node == "a"  # forwardable as stored
    with b.sessions() as s:
        owner = s.get(Organisation, row.owner_org_id)
        assert owner is not None and owner.remote_node == "a"
        assert owner.identity_ref == raw["created_by_ref"]
        arrival = s.scalar(select(Arrival).where(Arrival.stix_id == indicator(1)["id"]))
        assert arrival is not None and arrival.hop_count == 1
    assert visible_to(b, indicator(1)["id"])  # b's community sees it
    assert a.peer("b").push_position > 0 and b.peer("a").received == sent.sent
    assert a.push(b).sent == 0  # nothing new: nothing sent again


def test_connected_goes_one_hop_and_federation_travels_on(trio: list[LocalNode]) -> None:
    a, b, c = trio
    connect(a, b)
    connect(b, c)
    a.publish(indicator(1), reach=Reach.CONNECTED)
    a.publish(indicator(2), reach=Reach.FEDERATION)
    a.publish(indicator(3), reach=Reach.COMMUNITY)
    a.publish(indicator(4), reach=Reach.ORGANISATION)
    a.push(b)
    b.push(c)
    assert [r.reach for r in stored(b, indicator(1)["id"])] == ["community"]
    assert stored(c, indicator(1)["id"]) == []
    (far,) = stored(c, indicator(2)["id"])
    assert (far.origin_node, far.hop_count, far.reach) == ("a", 2, "federation")
    assert stored(b, indicator(3)["id"]) == stored(b, indicator(4)["id"]) == []
    with c.sessions() as s:  # c learnt a's organisation (via b) with its country
        org = s.scalar(
            select(Organisation).where(Organisation.identity_ref == a.member.identity_ref)
        )
        assert org is not None and (org.remote_node, org.country) == ("a", "GT")


def test_tlp_red_only_to_named_nodes_and_never_lowered(trio: list[LocalNode]) -> None:
    a, b, c = trio
    connect(a, b)
    connect(a, c)
    with a.sessions() as s:  # a sharing group naming node b (its organisation on a)
        b_org = s.scalar(select(Organisation.id).where(Organisation.remote_node == "b"))
        group = SharingGroup(name="a and b", owner_org_id=a.member.org_id, created_at=_now())
        s.add(group)
        s.flush()
        s.add_all([GroupMember(group_id=group.id, org_id=o) for o in (a.member.org_id, b_org)])
        s.commit()
        group_id = group.id
    a.publish(indicator(1), tlp=Tlp.RED)  # no named recipients: goes nowhere
    a.publish(indicator(2), tlp=Tlp.RED, groups=[group_id], by=_refreshed(a))
    a.publish(indicator(3), tlp=Tlp.AMBER_STRICT, groups=[group_id], by=_refreshed(a))
    a.publish(indicator(4), tlp=Tlp.GREEN, groups=[group_id], by=_refreshed(a))
    a.push(b)
    a.push(c)
    assert stored(b, indicator(1)["id"]) == stored(c, indicator(1)["id"]) == []
    assert [r.tlp for r in stored(b, indicator(2)["id"])] == ["red"]
    assert [r.tlp for r in stored(b, indicator(3)["id"])] == ["amber+strict"]
    assert stored(c, indicator(2)["id"]) == stored(c, indicator(3)["id"]) == []
    # On b the named recipient is the node (its operator organisation), nobody else.
    assert visible_to(b, indicator(2)["id"])
    other = add_member(b.sessions, "Bank of b")
    assert visible_to(b, indicator(3)["id"], other.principal) is False
    assert visible_to(b, indicator(4)["id"], other.principal) is False


def test_rejected_versions_are_counted_and_nothing_is_stored(nodes: list[LocalNode]) -> None:
    a, b = nodes
    connect(a, b)
    a.push(b)  # a's organisation identity arrives first
    before = b.count()
    tampered = sign(indicator(1), a.identity)
    tampered["name"] = "changed on the way"
    stranger = NodeIdentity("a", URL, SigningKey.generate())  # a's name, an unknown key
    spoofed = sign(indicator(3, created_by_ref=b.member.identity_ref), a.identity)
    unsigned = indicator(4, created_by_ref=a.member.identity_ref)
    for obj in (tampered, spoofed):
        obj["extensions"][EXTENSION_ID]["reach"] = "federation"
    envelope = {"objects": [tampered, sign(indicator(2), stranger), spoofed, unsigned]}
    token = _token_of(a, "b")
    r = b.client.post(
        collection_url(URL) + "objects/",
        content=orjson.dumps(envelope),
        headers={"Content-Type": TAXII, "Accept": TAXII, "Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 202, r.text
    status = r.json()
    assert (status["success_count"], status["failure_count"]) == (0, 4)
    reasons = [f["message"] for f in status["failures"]]
    assert "does not match" in reasons[0]
    assert "not known here" in reasons[1]
    assert "spoofed creator" in reasons[2] and "this node" in reasons[2]
    assert "no signed provenance" in reasons[3]
    assert b.count() == before
    assert b.peer("a").rejected == 4


def test_cycle_converges_with_each_version_stored_once(trio: list[LocalNode]) -> None:
    a, b, c = trio
    connect(a, b)
    connect(b, c)
    connect(c, a)
    a.publish(indicator(1))
    c.publish(indicator(2), reach=Reach.CONNECTED)
    edges = [(a, b), (b, c), (c, a), (b, a), (c, b), (a, c)]
    for _ in range(2):
        for x, y in edges:
            x.push(y)
    for n in trio:
        assert len(stored(n, indicator(1)["id"])) == 1
        assert len(stored(n, indicator(2)["id"])) == 1  # connected: c and its two neighbours
    assert [x.push(y).sent for x, y in edges] == [0] * len(edges)  # quiet
    with b.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Arrival)) == s.scalar(
            select(func.count()).select_from(objects).where(objects.c.origin_node.is_not(None))
        )


def test_pull_resumes_from_its_cursor(nodes: list[LocalNode]) -> None:
    a, b = nodes
    connect(a, b, a_to_b="pull", b_to_a="pull")
    for n in range(1, 6):
        a.publish(indicator(n))
    first = b.pull(a, limit=2)
    assert first.pages >= 3 and b.count(indicator(5)["id"]) == 1
    cursor = b.peer("a").pull_cursor
    assert cursor is not None
    a.publish(indicator(6))
    again = b.pull(a, limit=2)
    assert (again.received, again.stored) == (1, 1)  # only what was added after the cursor
    assert b.peer("a").pull_cursor != cursor
    assert b.pull(a).received == 0


def test_revocation_travels_and_readers_stop_seeing_it(nodes: list[LocalNode]) -> None:
    from minga.intel import service as intel

    a, b = nodes
    connect(a, b)
    a.publish(indicator(1))
    a.push(b)
    assert visible_to(b, indicator(1)["id"])
    with a.sessions() as s:
        intel.revoke(s, a.member, indicator(1)["id"])
        s.commit()
    assert a.push(b).sent == 1
    assert [bool(r.revoked) for r in stored(b, indicator(1)["id"])].count(True) == 1
    assert not visible_to(b, indicator(1)["id"])
    with b.sessions() as s:
        revoked = s.scalar(select(Arrival).where(Arrival.revoked.is_(True)))
        assert revoked is not None and revoked.stix_id == indicator(1)["id"]


def test_a_peer_pulls_only_what_the_policy_lets_it_receive(nodes: list[LocalNode]) -> None:
    a, b = nodes
    connect(a, b)
    a.publish(indicator(1), reach=Reach.COMMUNITY)
    a.publish(indicator(2), tlp=Tlp.RED)
    a.publish(indicator(3))
    token = _token_of(b, "a")
    r = a.client.get(
        collection_url(URL) + "objects/",
        headers={"Accept": TAXII, "Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 200
    ids = [o["id"] for o in r.json()["objects"]]
    assert indicator(3)["id"] in ids
    assert indicator(1)["id"] not in ids and indicator(2)["id"] not in ids
    assert all(provenance_of(o) is not None for o in r.json()["objects"])
    # The page covers every version looked at, those passed over too: the peer resumes after.
    with a.sessions() as s:
        newest = s.scalar(select(func.max(objects.c.added_us)))
    assert r.headers["X-TAXII-Date-Added-Last"] == us_to_ts(newest)


def _token_of(node: LocalNode, peer_name: str) -> str:
    import os

    return os.environ[node.peer(peer_name).token_env]


def _refreshed(node: LocalNode) -> Any:
    from minga.accounts import service as accounts

    with node.sessions() as s:
        return accounts.principal_for(s, accounts.get_user(s, node.member.user_id))


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)
