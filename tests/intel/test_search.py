"""Free-text search through the text index: the same answers as the scan it replaces, whatever
the index's lag, for rare and common texts, on both backends."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from minga.intel import search
from minga.intel import service as intel
from minga.intel.service import ObjectQuery
from minga.policy import Tlp
from tests.conftest import add_member
from tests.factories import indicator, malware, sid


def _names(sessions: sessionmaker[Session], member, needle: str) -> set[str]:
    with sessions() as s:
        page = intel.list_objects(s, member.principal, ObjectQuery(text=needle), limit=5000)
        count = intel.count_objects(s, member.principal, ObjectQuery(text=needle))
    assert count == len(page.items)
    return {i.stix_id for i in page.items}


def test_search_is_exact_before_and_after_indexing(
    sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search, "FEW", 50)  # `family 7` (111 rows) is rare past the first read
    a = add_member(sessions, "CSIRT-CR")
    b = add_member(sessions, "CSIRT-GT")
    common = [malware(i, name=f"Loader family {i}") for i in range(1, search.RARE + 60)]
    with sessions() as s:
        intel.create_objects(s, a.principal, common, tlp=Tlp.GREEN)
        intel.create_objects(s, a.principal, [malware(9000, name="QakBot_100%")], tlp=Tlp.GREEN)
        intel.create_objects(s, b.principal, [malware(9001, name="Qakbot private")], tlp=Tlp.RED)
        s.commit()
    want_rare = {sid("malware", 9000)}
    want_common = {sid("malware", i) for i in range(1, search.RARE + 60)}
    # Before the index has caught up (as right after a bulk load): the tail is scanned.
    assert _names(sessions, a, "qakbot") == want_rare
    assert _names(sessions, b, "qakbot") == want_rare | {sid("malware", 9001)}
    with sessions() as s:
        search.catch_up(s)
        s.commit()
    assert _names(sessions, a, "QAKBOT") == want_rare
    assert _names(sessions, a, "bot_100%") == want_rare  # LIKE's wildcards are plain text
    assert _names(sessions, a, "bot_1000") == set()
    assert _names(sessions, a, "loader family") == want_common  # common: the date walk
    assert _names(sessions, a, "family 7") == {sid("malware", 7)} | {
        sid("malware", i) for i in range(70, 80)
    } | {sid("malware", i) for i in range(700, 800)}
    assert _names(sessions, a, "qa") == want_rare  # shorter than a trigram: scanned
    assert _names(sessions, a, 'say "hi"') == set()
    # Written after the last catch-up: found by the scan of the tail.
    with sessions() as s:
        intel.create_objects(s, a.principal, [indicator(77, name="late qakbot")], tlp=Tlp.GREEN)
        s.commit()
    assert _names(sessions, a, "qakbot") == want_rare | {sid("indicator", 77)}
    # A deleted row leaves a stale index entry behind: confirmed or dropped, never shown.
    with sessions() as s:
        intel.delete_objects(s, a.principal, sid("malware", 9000))
        s.commit()
    assert _names(sessions, a, "qakbot") == {sid("indicator", 77)}


def test_the_index_is_there(sessions: sessionmaker[Session]) -> None:
    with sessions() as s:
        if s.get_bind().dialect.name == "postgresql":
            found = s.execute(
                text("SELECT indexdef FROM pg_indexes WHERE indexname = :n"),
                {"n": search.TRGM_INDEX},
            ).scalar_one()
            assert "gin_trgm_ops" in found
        else:
            found = s.execute(
                text("SELECT sql FROM sqlite_master WHERE name = :n"), {"n": search.FTS}
            ).scalar_one()
            assert "trigram" in found


@pytest.mark.parametrize("seconds", [0.05])
def test_the_background_indexer_catches_up(sessions: sessionmaker[Session], seconds: float):
    a = add_member(sessions, "CSIRT-CR")
    with sessions() as s:
        intel.create_objects(s, a.principal, [malware(1, name="Emotet")], tlp=Tlp.GREEN)
        s.commit()
    import time

    with search.indexer(sessions, seconds):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with sessions() as s:
                if s.get_bind().dialect.name != "sqlite" or search.last_indexed(s) > 0:
                    break
            time.sleep(0.05)
    with sessions() as s:
        if s.get_bind().dialect.name == "sqlite":
            assert search.last_indexed(s) > 0
            row = s.execute(
                text(f"SELECT rowid FROM {search.FTS} WHERE {search.FTS} MATCH '\"emotet\"'")
            ).all()
            assert len(row) == 1


def _pages(sessions: sessionmaker[Session], member, q: ObjectQuery, limit: int) -> list[str]:
    found: list[str] = []
    cursor = None
    with sessions() as s:
        while True:
            page = intel.list_objects(s, member.principal, q, limit=limit, cursor=cursor)
            found.extend(i.stix_id for i in page.items)
            if page.next_cursor is None:
                return found
            cursor = page.next_cursor


def test_a_common_text_pages_through_the_index_in_date_order(
    sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    from minga.intel import queries

    monkeypatch.setattr(search, "RARE", 3)  # every text below is common
    a = add_member(sessions, "CSIRT-CR")
    b = add_member(sessions, "CSIRT-GT")
    with sessions() as s:
        for n in range(1, 31):  # one write each: interleaved owners and TLPs
            owner, tlp = (b, Tlp.RED) if n % 3 == 0 else (a, Tlp.GREEN)
            intel.create_objects(s, owner.principal, [malware(n, name=f"Dridex {n}")], tlp=tlp)
        s.commit()
    with sessions() as s:
        search.catch_up(s, budget=12)  # part indexed, the rest written since
        s.commit()
    with sessions() as s:
        intel.create_objects(s, a.principal, [malware(99, name="dridex late")], tlp=Tlp.GREEN)
        s.commit()
    with sessions() as s:
        walked = queries.with_text_index(s, ObjectQuery(text="dridex")).text_chunked
        assert walked == (s.get_bind().dialect.name == "sqlite")
    for member in (a, b):
        scan = ObjectQuery(text="dridex", text_condition=search.like("dridex"))
        want = _pages(sessions, member, scan, 5000)
        assert len(want) > 10
        for limit in (1, 4, 7):
            assert _pages(sessions, member, ObjectQuery(text="dridex"), limit) == want
    with sessions() as s:
        search.catch_up(s)
        s.commit()
    scan = ObjectQuery(text="dridex", text_condition=search.like("dridex"))
    assert _pages(sessions, a, ObjectQuery(text="DRIDEX"), 3) == _pages(sessions, a, scan, 5000)


def test_a_common_text_walked_by_its_piece_gives_the_rows_of_the_scan(
    sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    from minga.intel import queries

    monkeypatch.setattr(search, "RARE", 3)  # every text below is common
    a = add_member(sessions, "CSIRT-CR")
    b = add_member(sessions, "CSIRT-GT")
    with sessions() as s:
        for n in range(1, 61):  # one write each: interleaved owners, TLPs and names
            owner, tlp = (b, Tlp.RED) if n % 3 == 0 else (a, Tlp.GREEN)
            name = f"Dridex {'loader' if n % 2 == 0 else 'dropper'} {n}"
            intel.create_objects(s, owner.principal, [malware(n, name=name)], tlp=tlp)
        s.commit()
    with sessions() as s:
        search.catch_up(s, budget=40)  # part indexed, the rest written since
        intel.delete_objects(s, a.principal, sid("malware", 8))  # a stale index entry
        s.commit()
    with sessions() as s:
        walks = {
            needle: queries.with_text_index(s, ObjectQuery(text=needle)).text_walk
            for needle in ("dridex loader", "dropper 3")
        }
    if s.get_bind().dialect.name == "sqlite":
        # `dridex` is in twice the rows of `dridex loader`: the piece drives the walk and the
        # LIKE drops the droppers; `dropper` is in far more rows than `dropper 3`: the needle.
        assert walks == {"dridex loader": "dridex", "dropper 3": "dropper 3"}
    for needle in ("dridex loader", "dropper 3"):
        for member in (a, b):
            scan = ObjectQuery(text=needle, text_condition=search.like(needle))
            want = _pages(sessions, member, scan, 5000)
            assert len(want) >= 3
            for limit in (1, 5):
                assert _pages(sessions, member, ObjectQuery(text=needle), limit) == want
