"""Log sessions as event-count vectors, scored by invariants mining (Lou et al., USENIX ATC
2010; loglizer's InvariantsMiner) and events the baseline never had.

A session is what one actor did: an HDFS block, an SSH source address, a host's program. Its
vector counts each log template. In normal work some counts move together ("every opened
session is closed": count(open) == count(close)); an invariant is such a linear relation between
two events, `q·count(a) == p·count(b)` with small integers, holding in nearly every baseline
session. A session that breaks invariants, or has an event never seen in the baseline, is an
anomaly, and the alert names which relation broke.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations

import numpy as np

RATIOS = ((1, 1), (1, 2), (2, 1), (1, 3), (3, 1), (2, 3), (3, 2))


@dataclass(frozen=True)
class Invariant:
    a: int
    b: int
    p: int
    q: int

    def holds(self, counts: np.ndarray) -> np.ndarray:
        return self.q * counts[:, self.a] == self.p * counts[:, self.b]

    def describe(self, names: list[str]) -> str:
        left = f"{self.q}×" if self.q != 1 else ""
        right = f"{self.p}×" if self.p != 1 else ""
        return f"{left}count({names[self.a]}) = {right}count({names[self.b]})"


@dataclass
class SessionModel:
    events: list[str]  # the column names of the count vectors (template ids)
    seen: np.ndarray  # bool per event: present in the baseline
    invariants: list[Invariant]
    threshold: int  # broken invariants a session may have before it is an anomaly
    meta: dict[str, float] = field(default_factory=dict)

    @classmethod
    def fit(
        cls,
        counts: np.ndarray,
        events: list[str],
        *,
        hold: float = 0.98,
        support: float = 0.05,
        allowed_share: float | None = 0.01,
    ) -> SessionModel:
        """Mine invariants holding in `hold` of the baseline sessions where either event occurs
        (and where that is at least `support` of the sessions); the threshold is the smallest
        number of broken invariants that at most `allowed_share` of the baseline exceeds."""
        counts = np.asarray(counts, dtype=np.int64)
        seen = counts.sum(axis=0) > 0
        found: list[Invariant] = []
        for a, b in combinations(np.flatnonzero(seen).tolist(), 2):
            active = (counts[:, a] + counts[:, b]) > 0
            if active.sum() < max(support * len(counts), 2):
                continue
            for p, q in RATIOS:
                if (q * counts[active, a] == p * counts[active, b]).mean() >= hold:
                    found.append(Invariant(a, b, p, q))
                    break
        model = cls(list(events), seen, found, 0)
        if allowed_share is not None:
            broken = model.broken(counts)
            model.threshold = int(np.quantile(broken, 1.0 - allowed_share, method="higher"))
        model.meta = {"sessions": float(len(counts)), "invariants": float(len(found))}
        return model

    def broken(self, counts: np.ndarray) -> np.ndarray:
        total = np.zeros(len(counts), dtype=np.int64)
        for invariant in self.invariants:
            total += ~invariant.holds(counts)
        return total

    def unseen(self, counts: np.ndarray) -> np.ndarray:
        width = min(counts.shape[1], len(self.seen))
        extra = counts[:, len(self.seen) :].sum(axis=1) > 0 if counts.shape[1] > width else 0
        return ((counts[:, :width][:, ~self.seen[:width]] > 0).sum(axis=1) + extra).astype(int)

    def scores(self, counts: np.ndarray) -> np.ndarray:
        """0..1 per session: 0 within the threshold, rising with each broken invariant or unseen
        event beyond it (0.5 for the first)."""
        counts = np.asarray(counts, dtype=np.int64)
        excess = np.maximum(self.broken(counts) - self.threshold, 0) + self.unseen(counts)
        return np.where(excess > 0, 1.0 - 0.5 ** excess.astype(np.float64), 0.0)

    def why(self, counts_row: np.ndarray) -> str:
        counts_row = np.asarray(counts_row, dtype=np.int64)[None, :]
        names = self.events
        parts = []
        new = [
            names[i]
            for i in np.flatnonzero(counts_row[0, : len(self.seen)] > 0)
            if not self.seen[i]
        ]
        if new:
            parts.append("events never seen in the baseline: " + ", ".join(new[:5]))
        broke = [inv.describe(names) for inv in self.invariants if not inv.holds(counts_row)[0]]
        if broke:
            parts.append(f"{len(broke)} broken invariant(s), e.g. " + "; ".join(broke[:3]))
        return "; ".join(parts) or "within the baseline"


def count_vectors(
    session: np.ndarray, event: np.ndarray, events: int
) -> tuple[np.ndarray, np.ndarray]:
    """(session keys, sessions × events count matrix) from one (session, event id) per line."""
    keys, row = np.unique(session.astype(str), return_inverse=True)
    counts = np.zeros((len(keys), events), dtype=np.int64)
    np.add.at(counts, (row.ravel(), event.astype(np.int64)), 1)
    return keys, counts
