"""Free-text search found through the rarest piece of the text (PostgreSQL; SQLite goes through
its own index): page by page, the same rows in the same order as the plain scan, for readers
who see different rows."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from minga.intel import queries, search
from minga.intel import service as intel
from minga.intel.service import ObjectQuery
from minga.policy import Tlp
from tests.conftest import add_member
from tests.factories import indicator, malware, sid

NEEDLE = "c2 server 10.3.1"


def test_the_pieces_of_a_text() -> None:
    assert search.pieces("c2 server 10.3.7") == ["10.3.7", "server"]
    assert search.pieces("  family  7 family ") == ["family"]
    assert search.pieces("qa b") == []
    assert search.pieces("bot_100%") == ["bot_100%"]
    assert search.pieces("... --> _-_ ab-") == []  # no trigram to look up: the index read whole
    assert search.pieces("x.y 1.2") == ["1.2", "x.y"]  # the word after the dot has some
    many = "qakbot emotet trickbot conti lockbit icedid"
    assert search.pieces(many) == ["trickbot", "lockbit", "emotet", "icedid"][: search.PIECES]


def _pages(
    sessions: sessionmaker[Session], member, q: ObjectQuery, limit: int
) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    cursor = None
    with sessions() as s:
        while True:
            page = intel.list_objects(s, member.principal, q, limit=limit, cursor=cursor)
            found.extend((i.stix_id, i.version) for i in page.items)
            if page.next_cursor is None:
                return found
            cursor = page.next_cursor


def _scan(needle: str, newest_first: bool = True) -> ObjectQuery:
    return ObjectQuery(text=needle, text_condition=search.like(needle), newest_first=newest_first)


def _store(sessions: sessionmaker[Session]):
    a = add_member(sessions, "CSIRT-CR")
    b = add_member(sessions, "CSIRT-GT")
    with sessions() as s:
        for n in range(1, 41):  # one write each: interleaved owners and TLPs
            owner, tlp = (b, Tlp.RED) if n % 3 == 0 else (a, Tlp.GREEN)
            if n % 4 == 0:
                owner, tlp = a, Tlp.AMBER_STRICT  # a's own, hidden from b
            obj = indicator(n, name=f"C2 server 10.3.{n}")
            intel.create_objects(s, owner.principal, [obj], tlp=tlp)
        # Text of the other pieces only: confirmed out.
        others = [malware(100 + n, name=f"c2 server of 10.3.{n}x") for n in range(10)]
        intel.create_objects(s, a.principal, others, tlp=Tlp.GREEN)
        # A later version that no longer matches hides the one that did.
        newer = indicator(12, name="renamed", modified="2024-04-01T00:00:00.000Z")
        intel.create_objects(s, a.principal, [newer], tlp=Tlp.GREEN)
        s.commit()
    with sessions() as s:
        search.catch_up(s)
        s.commit()
    return a, b


def test_pages_through_the_rarest_piece_equal_the_scan(sessions: sessionmaker[Session]) -> None:
    a, b = _store(sessions)
    with sessions() as s:
        postgresql = s.get_bind().dialect.name == "postgresql"
        resolved = queries.with_text_index(s, ObjectQuery(text=NEEDLE))
        if postgresql:  # the rows by key, not the date walk
            assert resolved.text_narrow and "ANY" in str(resolved.text_condition).upper()
    seen = {}
    for member in (a, b):
        for newest_first in (True, False):
            want = _pages(sessions, member, _scan(NEEDLE, newest_first), 5000)
            for limit in (1, 3, 7):
                q = ObjectQuery(text=NEEDLE, newest_first=newest_first)
                assert _pages(sessions, member, q, limit) == want
        seen[member.org_id] = {i for i, _ in _pages(sessions, member, _scan(NEEDLE), 5000)}
    # 10.3.1 and 10.3.10-19 but 10.3.12 (renamed); b's RED and a's AMBER+STRICT are their own.
    shared = {1, 10, 11, 13, 14, 17, 19}
    assert seen[a.org_id] == {sid("indicator", n) for n in shared | {16}}
    assert seen[b.org_id] == {sid("indicator", n) for n in shared | {15, 18}}


def test_a_text_none_holds(sessions: sessionmaker[Session]) -> None:
    a, _ = _store(sessions)
    for needle in ("c2 server 10.3.1 nowhere", "zzz c2", "10.3.99"):
        assert _pages(sessions, a, ObjectQuery(text=needle), 2) == []
        assert _pages(sessions, a, _scan(needle), 5000) == []


@pytest.mark.parametrize("bound", [0, 5])
def test_a_piece_over_the_bound_leaves_the_scan(
    sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch, bound: int
) -> None:
    a, b = _store(sessions)
    monkeypatch.setattr(search, "BOUND", bound)  # every piece holds more rows than that
    with sessions() as s:
        if s.get_bind().dialect.name == "postgresql":
            assert not queries.with_text_index(s, ObjectQuery(text=NEEDLE)).text_narrow
    for member in (a, b):
        want = _pages(sessions, member, _scan(NEEDLE), 5000)
        assert len(want) > 5
        assert _pages(sessions, member, ObjectQuery(text=NEEDLE), 3) == want


def test_common_pieces_are_not_looked_up(
    sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, _ = _store(sessions)
    with sessions() as s:
        if s.get_bind().dialect.name != "postgresql":
            pytest.skip("the planner's estimate is PostgreSQL's")
        s.execute(text("ANALYZE stix_objects"))
        s.commit()
    monkeypatch.setattr(search, "COMMON", 0.0)  # any piece the planner expects at all
    with sessions() as s:
        assert not queries.with_text_index(s, ObjectQuery(text=NEEDLE)).text_narrow
    assert _pages(sessions, a, ObjectQuery(text=NEEDLE), 3) == _pages(
        sessions, a, _scan(NEEDLE), 5000
    )
