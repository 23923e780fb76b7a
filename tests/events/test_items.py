"""Delivery-time filtering: a reader is told only what the policy lets it see."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from minga.events import items, outbox
from minga.intel import service as intel
from minga.policy import Reach, Tlp
from tests.conftest import add_member
from tests.factories import indicator, sid


def _load(sessions: sessionmaker[Session]) -> list[items.Item]:
    with sessions() as s:
        return items.load(s, outbox.read_after(s, 0, limit=1000))


def test_each_reader_sees_only_what_it_may(sessions: sessionmaker[Session]) -> None:
    cr = add_member(sessions, "CSIRT-CR")
    gt = add_member(sessions, "CSIRT-GT", country="GT")
    with sessions() as s:
        intel.create_objects(s, cr.principal, [indicator(1)], tlp=Tlp.GREEN)
        intel.create_objects(s, cr.principal, [indicator(2)], tlp=Tlp.RED)
        intel.create_objects(
            s, cr.principal, [indicator(3)], tlp=Tlp.GREEN, reach=Reach.ORGANISATION
        )
        s.commit()
    loaded = [i for i in _load(sessions) if i.type == "indicator"]
    assert {i.stix_id for i in items.visible(cr.principal, loaded)} == {
        sid("indicator", n) for n in (1, 2, 3)
    }
    assert {i.stix_id for i in items.visible(gt.principal, loaded)} == {sid("indicator", 1)}


def test_filters_by_type_tlp_and_revocation(sessions: sessionmaker[Session]) -> None:
    cr = add_member(sessions, "CSIRT-CR")
    with sessions() as s:
        intel.create_objects(s, cr.principal, [indicator(1)], tlp=Tlp.GREEN)
        intel.create_objects(s, cr.principal, [indicator(2)], tlp=Tlp.AMBER)
        s.commit()
    with sessions() as s:
        intel.revoke(s, cr.principal, sid("indicator", 1))
        s.commit()
    loaded = _load(sessions)
    only_green = items.Filters(types=frozenset({"indicator"}), max_tlp=Tlp.GREEN)
    got = [(i.stix_id, i.what) for i in items.visible(cr.principal, loaded, only_green)]
    assert got == [(sid("indicator", 1), items.OBJECT), (sid("indicator", 1), items.REVOKED)]
    assert all(i.seq > 0 for i in loaded)
