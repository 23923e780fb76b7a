"""Scores and imported warninglists in feeds: the score table (branch `sight`) decides the
lowest-score filter and the decayed validity where it exists; imported lists leave values out."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import insert, update
from sqlalchemy.orm import Session, sessionmaker

from minga.correlate.feeds import FeedFilter, parse_filter, stream_rows
from minga.correlate.models import warninglist_entries, warninglists
from minga.correlate.score_models import indicator_scores
from minga.intel.stix import ts_to_us
from tests.correlate.stored import community, publish

NOW = datetime(2026, 12, 1, tzinfo=UTC)
NOW_US = ts_to_us("2026-12-01T00:00:00Z")


def test_an_imported_warninglist_leaves_its_values_out(sessions: sessionmaker[Session]) -> None:
    c = community(sessions)
    with sessions() as s:
        publish(s, c.gt, 1, "[domain-name:value = 'cdn.partner-bank.gt']")
        publish(s, c.gt, 2, "[domain-name:value = 'evil-update.net']")
        listed = s.execute(
            insert(warninglists)
            .values(
                name="Partner CDNs",
                list_type="string",
                matching='["domain"]',
                imported_at=NOW,
            )
            .returning(warninglists.c.id)
        ).scalar_one()
        s.execute(insert(warninglist_entries).values(list_id=listed, value="cdn.partner-bank.gt"))
        s.commit()
        values = [r.value for r in stream_rows(s, c.hn.principal, FeedFilter(), now=NOW)]
        assert values == ["evil-update.net"]
        asked = FeedFilter(include_warninglisted=True)
        assert len(list(stream_rows(s, c.hn.principal, asked, now=NOW))) == 2


def test_score_table_decides_score_and_validity(sessions: sessionmaker[Session]) -> None:
    """Publishing scores each indicator; the scores are then set by hand (an aged one, a
    strong one) to see the feed follow the table, not the indicators' own confidence."""
    c = community(sessions)
    with sessions() as s:
        strong = publish(s, c.gt, 1, "[ipv4-addr:value = '45.77.12.34']", confidence=10)
        decayed = publish(s, c.gt, 2, "[ipv4-addr:value = '45.77.12.35']", confidence=90)
        for stix_id, score, until in ((strong, 85, NOW_US + 10**12), (decayed, 60, NOW_US - 1)):
            s.execute(
                update(indicator_scores)
                .where(indicator_scores.c.stix_id == stix_id)
                .values(
                    score=score,
                    base=float(score),
                    confidence=50,
                    model="ip",
                    sightings=0,
                    false_positives=0,
                    organisations=1,
                    last_seen_us=None,
                    valid_until_us=until,
                    computed_us=NOW_US,
                )
            )
        s.commit()
        rows = list(stream_rows(s, c.hn.principal, FeedFilter(), now=NOW))
        assert [(r.value, r.score) for r in rows] == [("45.77.12.34", 85)]
        everything = FeedFilter(include_expired=True)
        assert len(list(stream_rows(s, c.hn.principal, everything, now=NOW))) == 2
        high = parse_filter(min_score=80, include_expired=True)
        assert [r.value for r in stream_rows(s, c.hn.principal, high, now=NOW)] == ["45.77.12.34"]
