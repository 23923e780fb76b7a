"""An anomaly alert: what a detector found that no indicator names, with its score and why.

The sensor's detectors (`minga.sensor.anomaly`) produce alerts; the sensor sends them to its node,
where an analyst reviews them and turns one into an indicator or an incident. The JSON form is the
contract between the two sides (`as_json` / `from_json`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Alert:
    detector: str  # e.g. "flow-knn", "beaconing", "dns-tunnel", "dga", "log-template"
    score: float  # 0.0 (normal) .. 1.0 (as anomalous as the detector can say)
    reason: str  # one sentence an analyst can read: the rule, or the features that stand out
    first_seen: datetime
    last_seen: datetime
    source: str | None = None  # address, host or log source the alert is about
    destination: str | None = None  # address, domain or service, when there is one
    count: int = 1  # records behind the alert
    features: dict[str, float] = field(default_factory=dict)  # the features that stand out
    evidence: dict[str, Any] = field(default_factory=dict)  # e.g. sample names, intervals, lines

    def __post_init__(self) -> None:
        if not 0.0 <= self.score <= 1.0:
            raise ValueError(f"an alert's score is between 0 and 1, not {self.score}")
        if self.last_seen < self.first_seen:
            raise ValueError("an alert's last_seen is before its first_seen")

    def as_json(self) -> dict[str, Any]:
        return {
            "detector": self.detector,
            "score": round(self.score, 4),
            "reason": self.reason,
            "first_seen": self.first_seen.isoformat(),
            "last_seen": self.last_seen.isoformat(),
            "source": self.source,
            "destination": self.destination,
            "count": self.count,
            "features": self.features,
            "evidence": self.evidence,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Alert:
        return cls(
            detector=str(data["detector"]),
            score=float(data["score"]),
            reason=str(data["reason"]),
            first_seen=datetime.fromisoformat(data["first_seen"]),
            last_seen=datetime.fromisoformat(data["last_seen"]),
            source=data.get("source"),
            destination=data.get("destination"),
            count=int(data.get("count", 1)),
            features={str(k): float(v) for k, v in (data.get("features") or {}).items()},
            evidence=dict(data.get("evidence") or {}),
        )
