"""Bounded dashboard counts and relationship look-up, always through the policy filter."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from minga.intel import service as intel
from minga.intel import stats
from minga.intel.service import ObjectQuery
from minga.policy import Reach, Tlp
from tests.conftest import add_member
from tests.factories import indicator, malware, sid


def _relationship(n: int, source: str, target: str) -> dict:
    return {
        "type": "relationship",
        "spec_version": "2.1",
        "id": sid("relationship", n),
        "created": "2024-03-01T12:00:00.000Z",
        "modified": "2024-03-01T12:00:00.000Z",
        "relationship_type": "indicates",
        "source_ref": source,
        "target_ref": target,
    }


def test_summary_counts_only_what_the_principal_sees(sessions: sessionmaker[Session]):
    a = add_member(sessions, "Org A", country="CR")
    b = add_member(sessions, "Org B", country="GT")
    with sessions() as s:
        intel.create_objects(s, a.principal, [indicator(1), indicator(2)], tlp=Tlp.GREEN)
        intel.create_objects(s, a.principal, [indicator(3)], tlp=Tlp.AMBER_STRICT)
        intel.create_objects(s, a.principal, [malware(4)], tlp=Tlp.AMBER, reach=Reach.ORGANISATION)
        s.commit()
        seen_by_b = stats.recent_summary(
            s, b.principal, ObjectQuery(types=["indicator", "malware"])
        )
        seen_by_a = stats.recent_summary(
            s, a.principal, ObjectQuery(types=["indicator", "malware"])
        )
        capped = stats.capped_count(s, a.principal, ObjectQuery(), cap=2)
        others = stats.newest(
            s, b.principal, ObjectQuery(), not_owner=b.org_id, not_types=["identity"]
        )
    assert (seen_by_b.examined, dict(seen_by_b.by_tlp)) == (2, {"green": 2})
    assert dict(seen_by_a.by_type) == {"indicator": 3, "malware": 1}
    assert dict(seen_by_a.by_owner) == {a.org_id: 4}
    assert capped == 3  # stops at cap + 1
    assert [o.stix_id for o in others] == [indicator(2)["id"], indicator(1)["id"]]


def test_relationships_of(sessions: sessionmaker[Session]):
    a = add_member(sessions, "Org A")
    b = add_member(sessions, "Org B")
    ind, mal = indicator(1)["id"], malware(2)["id"]
    with sessions() as s:
        intel.create_objects(s, a.principal, [indicator(1), malware(2)], tlp=Tlp.GREEN)
        intel.create_objects(s, a.principal, [_relationship(3, ind, mal)], tlp=Tlp.GREEN)
        intel.create_objects(
            s, a.principal, [_relationship(4, mal, ind)], tlp=Tlp.AMBER, reach=Reach.ORGANISATION
        )
        s.commit()
        mine = stats.relationships_of(s, a.principal, ind)
        theirs = stats.relationships_of(s, b.principal, ind)
        none = stats.relationships_of(s, a.principal, sid("indicator", 99))
    assert [r.stix_id for r in mine] == [sid("relationship", 4), sid("relationship", 3)]
    assert [r.stix_id for r in theirs] == [sid("relationship", 3)]
    assert none == []


def test_relationships_of_finds_old_ones_behind_many_newer(
    sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
):
    """Found by their ends, not among the newest relationships of the whole store; a revised
    relationship once (its latest version)."""
    monkeypatch.setattr(stats, "RELATIONSHIP_SCAN", 3)
    a = add_member(sessions, "Org A")
    ind, mal = indicator(1)["id"], malware(2)["id"]
    old = _relationship(3, ind, mal)
    with sessions() as s:
        intel.create_objects(s, a.principal, [indicator(1), malware(2), old], tlp=Tlp.GREEN)
        s.commit()
        for n in range(10, 16):  # newer relationships of other objects
            intel.create_objects(
                s, a.principal, [_relationship(n, sid("malware", n), mal)], tlp=Tlp.GREEN
            )
            s.commit()
        revised = {**old, "modified": "2024-03-02T00:00:00.000Z", "description": "again"}
        intel.create_objects(s, a.principal, [revised], tlp=Tlp.GREEN)
        s.commit()
        found = stats.relationships_of(s, a.principal, ind)
        to_mal = stats.relationships_of(s, a.principal, mal)
    assert [(r.stix_id, r.object().get("description")) for r in found] == [
        (sid("relationship", 3), "again")
    ]
    assert len(to_mal) == 3  # the object's 3 newest (RELATIONSHIP_SCAN) of its 7
    assert sid("relationship", 15) in {r.stix_id for r in to_mal}
