from datetime import UTC, datetime, timedelta

import pytest

from minga.sensor.alerts import Alert


def test_an_alert_round_trips_through_its_json_form() -> None:
    start = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
    alert = Alert(
        detector="beaconing",
        score=0.91,
        reason="40 connections to 203.0.113.7:443 every 60 s (jitter 1.2 s)",
        first_seen=start,
        last_seen=start + timedelta(minutes=40),
        source="10.0.0.5",
        destination="203.0.113.7",
        count=40,
        features={"period_s": 60.0, "jitter_s": 1.2},
        evidence={"intervals": [60, 61, 59]},
    )
    assert Alert.from_json(alert.as_json()) == alert


@pytest.mark.parametrize("score", [-0.1, 1.5])
def test_a_score_outside_0_to_1_is_refused(score: float) -> None:
    now = datetime(2026, 12, 2, tzinfo=UTC)
    with pytest.raises(ValueError, match="between 0 and 1"):
        Alert(detector="x", score=score, reason="r", first_seen=now, last_seen=now)


def test_last_seen_before_first_seen_is_refused() -> None:
    now = datetime(2026, 12, 2, tzinfo=UTC)
    with pytest.raises(ValueError, match="before"):
        Alert(
            detector="x",
            score=0.5,
            reason="r",
            first_seen=now,
            last_seen=now - timedelta(seconds=1),
        )
