"""Beaconing: one source calling one destination at a steady rhythm with steady sizes, scored the
way RITA does. Per pair (source, destination), from the connection times and the bytes sent:

* interval skew: Bowley's quartile skewness of the gaps (a beacon's gaps are symmetric) → 1 − |skew|
* interval dispersion: the median absolute deviation of the gaps, relative to their median
* connection count: how many connections over the span (a beacon calls many times)
* size skew and dispersion of the bytes sent (a beacon's check-in is always the same size)

The score is the mean of the time part and the size part; the alert names each part.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from minga.sensor.alerts import Alert
from minga.sensor.anomaly.features import Flows


def _bowley(x: np.ndarray) -> float:
    q1, q2, q3 = np.percentile(x, [25, 50, 75])
    return 0.0 if q3 == q1 else float((q3 + q1 - 2 * q2) / (q3 - q1))


def _mad(x: np.ndarray) -> float:
    return float(np.median(np.abs(x - np.median(x))))


def pair_score(ts: np.ndarray, sizes: np.ndarray) -> dict[str, float]:
    ts = np.sort(ts)
    gaps = np.diff(ts)
    median_gap = float(np.median(gaps))
    span = float(ts[-1] - ts[0])
    skew = 1.0 - min(abs(_bowley(gaps)), 1.0)
    dispersion = max(0.0, 1.0 - _mad(gaps) / max(median_gap, 1e-9))
    expected = span / max(median_gap, 1e-9)
    count = min(1.0, len(gaps) / max(expected, 1.0)) * min(1.0, len(ts) / 24)
    size_skew = 1.0 - min(abs(_bowley(sizes)), 1.0)
    size_dispersion = max(0.0, 1.0 - _mad(sizes) / max(float(np.median(sizes)), 32.0))
    time_part = (skew + dispersion + count) / 3
    size_part = (size_skew + size_dispersion) / 2
    return {
        "score": round((time_part + size_part) / 2, 4),
        "interval_skew": round(skew, 3),
        "interval_dispersion": round(dispersion, 3),
        "connection_count": round(count, 3),
        "size_skew": round(size_skew, 3),
        "size_dispersion": round(size_dispersion, 3),
        "median_interval_s": round(median_gap, 2),
        "connections": float(len(ts)),
    }


def _broadcast(dst: np.ndarray) -> np.ndarray:
    """Multicast and broadcast destinations: periodic by design (mDNS, SSDP, router ads)."""
    text = dst.astype(str)
    if not len(text):
        return np.zeros(0, dtype=bool)
    first = np.char.partition(text, ".")[:, 0]
    octet = np.where(np.char.isdigit(first), first, "0").astype(int)
    return (
        np.char.startswith(np.char.lower(text), "ff0")
        | ((octet >= 224) & (octet <= 239))
        | np.char.endswith(text, ".255")
    )


def beacon_alerts(f: Flows, threshold: float = 0.8, min_connections: int = 12) -> list[Alert]:
    good = np.isfinite(f.ts) & ~_broadcast(f.dst)
    if good.sum() < min_connections:
        return []
    src, dst, ts = f.src[good].astype(str), f.dst[good].astype(str), f.ts[good]
    sizes = f.numbers[good, 1]
    pairs, group, counts = np.unique(
        np.char.add(np.char.add(src, "|"), dst), return_inverse=True, return_counts=True
    )
    group = group.ravel()
    order = np.argsort(group, kind="stable")
    bounds = np.concatenate(([0], np.cumsum(counts)))
    alerts = []
    for g in np.flatnonzero(counts >= min_connections):
        rows = order[bounds[g] : bounds[g + 1]]
        if np.ptp(ts[rows]) <= 0:
            continue
        parts = pair_score(ts[rows], sizes[rows])
        score = parts.pop("score")
        if score < threshold:
            continue
        source, destination = str(pairs[g]).split("|", 1)
        first = datetime.fromtimestamp(float(ts[rows].min()), UTC)
        last = datetime.fromtimestamp(float(ts[rows].max()), UTC)
        why = (
            f"{int(parts['connections'])} connections every {parts['median_interval_s']:.0f} s "
            f"on average with regular gaps (skew {parts['interval_skew']:.2f}, dispersion "
            f"{parts['interval_dispersion']:.2f}) and steady sizes (skew "
            f"{parts['size_skew']:.2f}, dispersion {parts['size_dispersion']:.2f}): a beacon"
        )
        alerts.append(
            Alert(
                "beaconing",
                float(score),
                why,
                first,
                last,
                source,
                destination,
                len(rows),
                parts,
                {"intervals": np.round(np.diff(np.sort(ts[rows]))[:10], 2).tolist()},
            )
        )
    return alerts
