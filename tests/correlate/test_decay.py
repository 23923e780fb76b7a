"""The score formulas against numbers worked out by hand (each comment shows the arithmetic)."""

from __future__ import annotations

import pytest

from minga.correlate import decay
from minga.correlate.decay import DAY_US, MODELS, Seen
from minga.correlate.scores import Params, Sighted, compute
from minga.intel.stix import ts_to_us

NOW = ts_to_us("2025-01-31T00:00:00Z")
P = Params(default_confidence=50, threshold=30)


def days(n: float) -> int:
    return int(n * DAY_US)


@pytest.mark.parametrize(
    ("pattern", "model"),
    [
        ("[ipv4-addr:value = '198.51.100.7']", "ip"),
        ("[ipv6-addr:value = '2001:db8::1']", "ip"),
        ("[domain-name:value = 'evil.example']", "domain"),
        ("[url:value = 'http://evil.example/x']", "domain"),
        ("[file:hashes.'SHA-256' = 'aa']", "hash"),
        ("[file:hashes.MD5 = 'aa']", "hash"),
        ("[file:name = 'invoice.exe']", "other"),
        ("[mutex:name = 'x']", "other"),
        ("not a pattern", "other"),
    ],
)
def test_model_per_type(pattern: str, model: str):
    assert decay.model_for(pattern).name == model


def test_ip_decays_fast():
    # base 80, IP model τ=30 d, δ=2. At t=7.5 d: (7.5/30)^(1/2) = 0.25^0.5 = 0.5
    # → 80 × (1 − 0.5) = 40.
    assert decay.decayed(80.0, days(7.5), MODELS["ip"]) == pytest.approx(40.0)
    # t_θ = 30 × (1 − 30/80)^2 = 30 × 0.625² = 30 × 0.390625 = 11.71875 d
    assert decay.time_to_threshold_us(80.0, 30, MODELS["ip"]) == days(11.71875)
    # past the lifetime: 0
    assert decay.decayed(80.0, days(31), MODELS["ip"]) == 0.0


def test_hash_decays_slowly():
    # base 80, hash model τ=365 d, δ=0.5. At t=182.5 d: (0.5)^(1/0.5) = 0.5² = 0.25
    # → 80 × 0.75 = 60.
    assert decay.decayed(80.0, days(182.5), MODELS["hash"]) == pytest.approx(60.0)
    # t_θ = 365 × (1 − 30/80)^0.5 = 365 × 0.625^0.5 = 365 × 0.790569415 = 288.557836 d
    assert decay.time_to_threshold_us(80.0, 30, MODELS["hash"]) / DAY_US == pytest.approx(
        288.557836, abs=1e-6
    )


def test_domain_medium_and_other_linear():
    # domain τ=120 d, δ=2: at 30 d (30/120)^(1/2) = 0.5 → 60 × 0.5 = 30
    assert decay.decayed(60.0, days(30), MODELS["domain"]) == pytest.approx(30.0)
    # other τ=180 d, δ=1 (linear): at 45 d 1 − 45/180 = 0.75 → 60 × 0.75 = 45
    assert decay.decayed(60.0, days(45), MODELS["other"]) == pytest.approx(45.0)


def test_base_score_sightings_weigh_by_age_and_false_positives_halve():
    # confidence 50; sightings now (w=1), now (w=1), 7 days ago (w=2^(−7/7)=0.5): S = 2.5
    # base = min(100, 50 + 10 × 2.5) = 75
    seen = [Seen(NOW, False), Seen(NOW, False), Seen(NOW - days(7), False)]
    assert decay.base_score(50, seen, NOW) == pytest.approx(75.0)
    # plus one false positive 14 days ago: F = 2^(−14/7) = 0.25 → 75 × 2^(−0.25)
    # = 75 × 0.840896415 = 63.06723
    fp = [*seen, Seen(NOW - days(14), True)]
    assert decay.base_score(50, fp, NOW) == pytest.approx(63.0672311, abs=1e-6)
    # capped at 100: 95 + 10 × 1 = 105 → 100
    assert decay.base_score(95, [Seen(NOW, False)], NOW) == 100.0


def test_compute_one_indicator_by_hand():
    # An IP indicator, confidence 70, last modified 10 days ago; one sighting (org 1) 3 days ago
    # and one false positive (org 2) today.
    indicator = {
        "type": "indicator",
        "modified": "2025-01-21T00:00:00Z",  # NOW − 10 d
        "confidence": 70,
        "pattern": "[ipv4-addr:value = '203.0.113.9']",
    }
    seen = [Sighted(1, 4, NOW - days(3), False), Sighted(2, 1, NOW, True)]
    score = compute("indicator--x", indicator, seen, NOW, P)
    # S = 2^(−3/7) = 0.742997; F = 1 → base = (70 + 7.42997) × 0.5 = 38.714986
    assert score.base == pytest.approx(38.714986, abs=1e-6)
    # The sighting restarts the clock: t = 3 d. (3/30)^(1/2) = 0.316228
    # → 38.714986 × (1 − 0.316228) = 38.714986 × 0.683772 = 26.47223 → 26 (to the nearest)
    assert score.score == 26
    assert (score.model, score.confidence) == ("ip", 70)
    assert (score.sightings, score.false_positives, score.organisations) == (4, 1, 1)
    # valid_until = reference + 30 × (1 − 30/38.714986)^2 = reference + 30 × 0.2251063^2
    # = reference + 30 × 0.0506728 = reference + 1.520185 d
    assert (score.valid_until_us - (NOW - days(3))) / DAY_US == pytest.approx(1.520185, abs=1e-5)


def test_compute_default_confidence_and_under_threshold():
    # No confidence: the node default 50. A hash indicator modified today: score 50, and
    # valid_until = now + 365 × (1 − 30/50)^0.5 = now + 365 × 0.632456 = now + 230.846 d
    indicator = {"modified": "2025-01-31T00:00:00Z", "pattern": "[file:hashes.MD5 = 'ab']"}
    score = compute("indicator--y", indicator, [], NOW, P)
    assert (score.score, score.confidence, score.model) == (50, 50, "hash")
    assert (score.valid_until_us - NOW) / DAY_US == pytest.approx(230.8462, abs=1e-4)
    # Confidence 20 is under the threshold 30 from the start: valid_until is the reference.
    low = compute("indicator--z", {**indicator, "confidence": 20}, [], NOW, P)
    assert (low.score, low.valid_until_us) == (20, NOW)
