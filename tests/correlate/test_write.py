"""The observable index is written with the object, in the same transaction, on both backends."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from minga.correlate.models import observables
from minga.correlate.store import count, reindex
from minga.intel import service as intel
from minga.intel.models import objects
from minga.policy import Tlp
from tests.conftest import add_member
from tests.factories import indicator, sid


def _index(session: Session) -> set[tuple[str, str, str]]:
    rows = session.execute(
        select(objects.c.stix_id, observables.c.kind, observables.c.value).join(
            objects, objects.c.pk == observables.c.object_pk
        )
    )
    return {(r[0], r[1], r[2]) for r in rows}


def test_bulk_and_grouped_writes_index_their_values(sessions: sessionmaker[Session]) -> None:
    member = add_member(sessions, "CSIRT-CR")
    items = [indicator(i, value=f"198.51.100.{i}") for i in range(1, 4)]
    items.append(
        {"type": "domain-name", "spec_version": "2.1", "id": sid("domain-name", 9),
         "value": "Evil.Example"}
    )  # fmt: skip
    with sessions() as s:
        intel.create_objects(s, member.principal, items, tlp=Tlp.GREEN)
        s.commit()
    with sessions() as s:
        assert _index(s) == {
            (sid("indicator", 1), "ipv4", "198.51.100.1"),
            (sid("indicator", 2), "ipv4", "198.51.100.2"),
            (sid("indicator", 3), "ipv4", "198.51.100.3"),
            (sid("domain-name", 9), "domain", "evil.example"),
        }


def test_a_failed_write_leaves_no_index_rows(sessions: sessionmaker[Session]) -> None:
    member = add_member(sessions, "CSIRT-CR")
    with sessions() as s:
        intel.create_objects(s, member.principal, [indicator(1)], tlp=Tlp.GREEN)
        s.rollback()
    with sessions() as s:
        assert _index(s) == set()


def test_deleting_an_object_deletes_its_rows_and_reindex_rebuilds(
    sessions: sessionmaker[Session],
) -> None:
    member = add_member(sessions, "CSIRT-CR")
    with sessions() as s:
        intel.create_objects(
            s, member.principal, [indicator(1), indicator(2, value="10.0.0.0/8")], tlp=Tlp.GREEN
        )
        s.commit()
    with sessions() as s:
        intel.delete_objects(s, member.principal, sid("indicator", 1))
        s.commit()
    with sessions() as s:
        assert _index(s) == {(sid("indicator", 2), "ipv4-net", "10.0.0.0/8")}
        before = count(s.connection())
        assert reindex(s.connection()) == before == 1
        s.commit()
        assert _index(s) == {(sid("indicator", 2), "ipv4-net", "10.0.0.0/8")}


@pytest.mark.parametrize("n", [1200])
def test_new_versions_add_rows_for_the_new_version(sessions: sessionmaker[Session], n: int) -> None:
    member = add_member(sessions, "CSIRT-CR")
    first = [indicator(i, value=f"10.{i >> 8}.{i & 255}.1") for i in range(n)]
    with sessions() as s:
        intel.create_objects(s, member.principal, first, tlp=Tlp.GREEN)
        s.commit()
    newer = indicator(0, value="192.0.2.55", modified="2024-03-02T12:00:00.000Z")
    with sessions() as s:
        intel.create_objects(s, member.principal, [newer], tlp=Tlp.GREEN)
        s.commit()
    with sessions() as s:
        latest = (
            s.execute(
                select(observables.c.value)
                .join(objects, objects.c.pk == observables.c.object_pk)
                .where(objects.c.stix_id == sid("indicator", 0), objects.c.is_latest)
            )
            .scalars()
            .all()
        )
        assert latest == ["192.0.2.55"]
        assert count(s.connection()) == n + 1
