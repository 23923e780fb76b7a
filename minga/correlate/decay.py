"""The score formulas: a base score from confidence and sightings, decayed per indicator type.

Pure functions (no database), documented with worked numbers in `docs/scoring.md`.

Decay follows MISP's polynomial decaying model (Iklody et al., "Decaying Indicators of
Compromise", arXiv:1803.11052; MISP's `Polynomial` formula and its default models in
github.com/MISP/misp-decaying-models):

    score(t) = base × (1 − (t/τ)^(1/δ))   for 0 ≤ t ≤ τ, and 0 after τ

with τ the lifetime and δ the decay speed of the indicator's model, and t the time since the
reference moment (the indicator's newest version, or its latest true-positive sighting if that
is later: a sighting restarts the clock, as in MISP). The score falls under the threshold θ at

    t_θ = τ × (1 − θ/base)^δ          (base > θ; otherwise at once)

which sets `valid_until`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

DAY_US = 86_400_000_000
# A sighting's weight halves every this many days: recent sightings weigh more.
SIGHTING_HALF_LIFE_DAYS = 7.0
SIGHTING_POINTS = 10.0  # points one fresh true-positive sighting adds to the base


@dataclass(frozen=True, slots=True)
class DecayModel:
    name: str
    lifetime_days: float  # τ
    speed: float  # δ: above 1 the score drops fast at first; below 1 it holds, then drops


# IPs change hands within weeks; domains and URLs live for months; a file hash names the same
# file for ever (it only stops mattering slowly). τ and δ of `domain` are MISP's NIDS model.
MODELS: dict[str, DecayModel] = {
    "ip": DecayModel("ip", 30.0, 2.0),
    "domain": DecayModel("domain", 120.0, 2.0),
    "hash": DecayModel("hash", 365.0, 0.5),
    "other": DecayModel("other", 180.0, 1.0),
}
_OBJECT_TYPE = re.compile(r"\[\s*([a-z0-9][a-z0-9-]*):([A-Za-z0-9_.']+)")
_KIND_OF_TYPE = {
    "ipv4-addr": "ip",
    "ipv6-addr": "ip",
    "network-traffic": "ip",
    "domain-name": "domain",
    "url": "domain",
    "email-addr": "domain",
    "email-message": "domain",
    "file": "hash",
    "artifact": "hash",
}


def model_for(pattern: str | None) -> DecayModel:
    """The decay model of an indicator pattern: that of its first observable type (a pattern
    about a file's hashes decays as a hash, one about an IP as an IP)."""
    match = _OBJECT_TYPE.search(pattern or "")
    if match is None:
        return MODELS["other"]
    kind = _KIND_OF_TYPE.get(match.group(1), "other")
    if kind == "hash" and "hashes" not in match.group(2):
        kind = "other"  # file:name = 'x' is no hash
    return MODELS[kind]


@dataclass(frozen=True, slots=True)
class Seen:
    """One sighting as the score sees it."""

    last_seen_us: int
    false_positive: bool


def weight(age_us: int) -> float:
    """2^(−age/half-life): 1 for a sighting seen now, ½ a week ago, ¼ two weeks ago."""
    return float(2.0 ** (-max(age_us, 0) / DAY_US / SIGHTING_HALF_LIFE_DAYS))


def base_score(confidence: int, seen: Iterable[Seen], now_us: int) -> float:
    """min(100, c + 10·S) × 2^(−F): S and F are the summed weights of the true-positive and
    false-positive sightings. Each recent false positive halves the score."""
    s = f = 0.0
    for item in seen:
        w = weight(now_us - item.last_seen_us)
        if item.false_positive:
            f += w
        else:
            s += w
    return float(min(100.0, confidence + SIGHTING_POINTS * s) * 2.0 ** (-f))


def decayed(base: float, elapsed_us: int, model: DecayModel) -> float:
    """base × (1 − (t/τ)^(1/δ)), 0 once t ≥ τ."""
    t = max(elapsed_us, 0) / DAY_US
    if t >= model.lifetime_days:
        return 0.0
    return base * (1.0 - (t / model.lifetime_days) ** (1.0 / model.speed))


def time_to_threshold_us(base: float, threshold: float, model: DecayModel) -> int:
    """τ × (1 − θ/base)^δ in µs: how long after the reference the score stays at or over θ."""
    if base <= threshold or base <= 0:
        return 0
    return int(model.lifetime_days * (1.0 - threshold / base) ** model.speed * DAY_US)


def as_points(value: float) -> int:
    """The 0–100 integer shown and filtered on: rounded to the nearest (halves up). Whether
    an indicator has expired is `valid_until`'s to say, from the exact value."""
    return max(0, min(100, math.floor(value + 0.5)))
