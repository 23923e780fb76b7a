"""Feed rows from the store: policy-filtered, filtered as asked, paged in constant memory."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from minga.correlate.export import FORMATS, render
from minga.correlate.export.rows import Kind
from minga.correlate.feeds import FeedFilter, export_meta, parse_filter, stream_rows
from minga.errors import InvalidInput
from minga.intel import service
from minga.policy import Principal, Reach, Tlp
from tests.correlate.consumers import loaded_rules, suricata_test
from tests.correlate.stored import Community, community, publish

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def store(sessions: sessionmaker[Session]) -> Community:
    c = community(sessions)
    with sessions() as s:
        publish(s, c.gt, 1, "[ipv4-addr:value = '45.77.12.34']", confidence=80)
        publish(
            s,
            c.gt,
            2,
            "[domain-name:value = 'Evil-Update.NET' OR url:value = 'http://evil-update.net/x']",
            tlp=Tlp.GREEN,
            confidence=40,
        )
        publish(s, c.gt, 3, "[ipv4-addr:value = '45.77.99.1']", tlp=Tlp.RED)  # named only
        publish(s, c.gt, 4, "[ipv4-addr:value = '45.77.99.2']", reach=Reach.ORGANISATION)
        publish(s, c.gt, 5, "[ipv4-addr:value = '45.77.99.3']", valid_until="2026-01-01T00:00:00Z")
        publish(s, c.gt, 6, "[ipv4-addr:value = '8.8.8.8']")  # a public resolver: warninglisted
        publish(s, c.hn, 7, "[file:hashes.'SHA-256' = '" + "AB" * 32 + "']", tlp=Tlp.CLEAR)
        revoked = publish(s, c.hn, 8, "[ipv4-addr:value = '45.77.99.4']")
        s.commit()
        service.revoke(s, c.hn.principal, revoked)
        s.commit()
    return c


def values(
    sessions: sessionmaker[Session], p: Principal, f: FeedFilter = FeedFilter(), page: int = 2000
) -> list[str]:
    with sessions() as s:
        return [r.value for r in stream_rows(s, p, f, now=NOW, page=page)]


def test_a_feed_holds_what_the_reader_may_see(sessions: sessionmaker[Session]) -> None:
    c = store(sessions)
    seen_by_hn = values(sessions, c.hn.principal)
    assert seen_by_hn == ["45.77.12.34", "evil-update.net", "http://evil-update.net/x", "ab" * 32]
    # The publisher also sees its RED and organisation-only indicators.
    seen_by_gt = values(sessions, c.gt.principal)
    assert "45.77.99.1" in seen_by_gt and "45.77.99.2" in seen_by_gt
    assert "45.77.99.4" not in seen_by_gt  # revoked


def test_expired_and_warninglisted_values_only_when_asked(sessions: sessionmaker[Session]):
    c = store(sessions)
    plain = values(sessions, c.hn.principal)
    assert "45.77.99.3" not in plain and "8.8.8.8" not in plain
    everything = values(
        sessions, c.hn.principal, FeedFilter(include_expired=True, include_warninglisted=True)
    )
    assert {"45.77.99.3", "8.8.8.8"} <= set(everything)


def test_filters(sessions: sessionmaker[Session]) -> None:
    c = store(sessions)
    p = c.hn.principal
    assert values(sessions, p, parse_filter(types=["domain,url"])) == [
        "evil-update.net",
        "http://evil-update.net/x",
    ]
    assert values(sessions, p, parse_filter(tlp="TLP:GREEN")) == [
        "evil-update.net",
        "http://evil-update.net/x",
        "ab" * 32,
    ]
    assert values(sessions, p, parse_filter(min_score=60)) == ["45.77.12.34"]
    # The hash states no confidence: it is scored with the node's default (50).
    assert values(sessions, p, parse_filter(min_score=50)) == ["45.77.12.34", "ab" * 32]
    assert values(sessions, p, parse_filter(countries=["hn"])) == ["ab" * 32]
    assert values(sessions, p, parse_filter(sectors=["government"]))[0] == "45.77.12.34"
    assert values(sessions, p, parse_filter(sectors=["finance"])) == ["ab" * 32]
    assert values(sessions, p, parse_filter(since="2999-01-01")) == []
    assert values(sessions, p, parse_filter(since="2000-01-01")) == values(sessions, p)


def test_pages_give_the_same_rows(sessions: sessionmaker[Session]) -> None:
    c = store(sessions)
    f = FeedFilter(include_expired=True, include_warninglisted=True)
    assert values(sessions, c.gt.principal, f, page=1) == values(sessions, c.gt.principal, f)


def test_meta_moves_with_a_change_and_only_then(sessions: sessionmaker[Session]) -> None:
    c = store(sessions)
    with sessions() as s:
        first = export_meta(s, c.hn.principal, FeedFilter(), "node-a")
        assert export_meta(s, c.hn.principal, FeedFilter(), "node-a") == first
        publish(s, c.gt, 9, "[ipv4-addr:value = '45.77.99.9']")
        s.commit()
        assert export_meta(s, c.hn.principal, FeedFilter(), "node-a").serial >= first.serial
        assert export_meta(s, c.hn.principal, FeedFilter(), "node-a") != first


def test_stored_indicators_as_suricata_rules(sessions: sessionmaker[Session], tmp_path: Path):
    c = store(sessions)
    with sessions() as s:
        meta = export_meta(s, c.hn.principal, FeedFilter(), "node-a")
        text = "".join(
            render(FORMATS["suricata"], stream_rows(s, c.hn.principal, FeedFilter(), now=NOW), meta)
        )
    path = tmp_path / "stored.rules"
    path.write_text(text)
    assert loaded_rules(suricata_test(path, tmp_path)) == (4, 0)  # IP, domain x2, URL
    assert "45.77.99.1" not in text


def test_bad_filter_words_are_refused() -> None:
    for kwargs in ({"types": ["ipv5"]}, {"tlp": "purple"}, {"min_score": 101}, {"since": "x"}):
        with pytest.raises(InvalidInput):
            parse_filter(**kwargs)  # type: ignore[arg-type]
    assert parse_filter(types=["IPv4"]).kinds == (Kind.IPV4,)
