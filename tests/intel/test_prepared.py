"""Page statements kept per caller and shape (`minga.intel.prepared`): a kept statement answers
exactly what one built afresh answers, for each caller, with each request's own values."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy.orm import Session, sessionmaker

from minga.errors import InvalidInput, NotFound
from minga.intel import prepared, service
from minga.intel.service import ObjectQuery
from minga.policy import Reach, Tlp
from tests.conftest import add_member
from tests.factories import indicator

FAR = 2**62  # an added_before bound that keeps every row and takes a page off the kept path


def _ids(page: service.Page) -> list[str]:
    return [o.stix_id for o in page.items]


def test_kept_statements_answer_each_caller_and_value(sessions: sessionmaker[Session]):
    a = add_member(sessions, "Org A")
    b = add_member(sessions, "Org B", country="GT")
    with sessions() as s:
        service.create_objects(
            s,
            a.principal,
            [indicator(n) for n in range(1, 6)],
            tlp=Tlp.GREEN,
            reach=Reach.COMMUNITY,
        )
        own = [indicator(n) for n in range(6, 9)]  # A's alone
        service.create_objects(s, a.principal, own, tlp=Tlp.AMBER, reach=Reach.ORGANISATION)
        s.commit()
        for reader, seen in ((b, 5), (a, 8), (b, 5), (a, 8)):  # a kept statement per caller
            one_by_one = [
                _ids(service.list_objects(s, reader.principal, ObjectQuery(ids=[stix_id])))
                for stix_id in (indicator(n)["id"] for n in range(1, 9))
            ]
            assert sum(len(found) for found in one_by_one) == seen
            assert all(len(found) <= 1 for found in one_by_one)
            assert [] in one_by_one if reader is b else [] not in one_by_one

        # Pages through the cursor (its position a bound value), both directions and after a
        # date: the same rows as statements built afresh (a bound that keeps them all).
        for newest_first in (True, False):
            for after in (None, 0):
                q = ObjectQuery(
                    types=["indicator"], newest_first=newest_first, added_after_us=after
                )
                assert prepared.shape_of(q, None) is not None
                assert prepared.shape_of(replace(q, added_before_us=FAR), None) is None
                for reader in (a, b):
                    kept, fresh = [], []
                    for out, query in ((kept, q), (fresh, replace(q, added_before_us=FAR))):
                        cursor = None
                        while True:
                            page = service.list_objects(
                                s, reader.principal, query, limit=2, cursor=cursor
                            )
                            out.extend(_ids(page))
                            if page.next_cursor is None:
                                break
                            cursor = page.next_cursor
                    assert kept == fresh
                    assert len(kept) == (8 if reader is a else 5)
                    assert len(set(kept)) == len(kept)


def test_a_kept_object_statement_answers_each_caller_and_version(
    sessions: sessionmaker[Session],
):
    a = add_member(sessions, "Org A")
    b = add_member(sessions, "Org B", country="GT")
    first = indicator(1)
    second = {**first, "modified": "2024-03-02T12:00:00.000Z", "name": "second"}
    hidden = indicator(2)
    with sessions() as s:
        service.create_objects(s, a.principal, [first, second], tlp=Tlp.GREEN)
        service.create_objects(s, a.principal, [hidden], tlp=Tlp.AMBER, reach=Reach.ORGANISATION)
        s.commit()
        for reader in (a, b, a, b):
            assert service.get_object(s, reader.principal, first["id"]).object()["name"] == "second"
            named = service.get_object(s, reader.principal, first["id"], first["modified"])
            assert named.object()["modified"] == first["modified"]
            if reader is a:
                assert service.get_object(s, a.principal, hidden["id"]).stix_id == hidden["id"]
            else:
                with pytest.raises(NotFound):
                    service.get_object(s, b.principal, hidden["id"])
        with pytest.raises(InvalidInput):
            service.get_object(s, a.principal, first["id"], "yesterday")
