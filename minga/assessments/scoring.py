"""Every score the assessments show, as small pure functions (docs/assessments.md states them;
tests/assessments/test_scoring.py checks them against cases worked by hand)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

# -- CMM 2021 ----------------------------------------------------------------------------------

STAGE_MIN, STAGE_MAX = 1, 5


def factor_stage(aspect_stages: Sequence[int | None]) -> int | None:
    """A factor is at the lowest stage of its aspects (the CMM reaches a stage only when all
    of it is there); None while any aspect is still unassessed."""
    if not aspect_stages or any(s is None for s in aspect_stages):
        return None
    return min(s for s in aspect_stages if s is not None)


def mean(values: Iterable[float | int | None], digits: int = 1) -> float | None:
    """The arithmetic mean of the values that are set, rounded; None when none is."""
    present = [float(v) for v in values if v is not None]
    if not present:
        return None
    return round(sum(present) / len(present), digits)


def dimension_score(factor_stages: Sequence[int | None]) -> float | None:
    """A dimension's score: the mean stage of its assessed factors (one decimal)."""
    return mean(factor_stages)


# -- NIST CSF 2.0 ------------------------------------------------------------------------------

TIER_MIN, TIER_MAX = 1, 4
IMPORTANCE = {1: "low", 2: "medium", 3: "high"}


def tier_gap(current: int | None, target: int | None) -> int | None:
    """Tiers to climb: target − current, never negative; None until both are set."""
    if current is None or target is None:
        return None
    return max(0, target - current)


def priority_score(gap: int | None, importance: int) -> int:
    """gap × importance (1 low, 2 medium, 3 high): 0 to 9."""
    return (gap or 0) * importance


def priority_band(score: int) -> str:
    """high from 6, medium from 3, low from 1; none at 0 (nothing to do)."""
    if score >= 6:
        return "high"
    if score >= 3:
        return "medium"
    return "low" if score >= 1 else "none"


@dataclass(frozen=True, slots=True)
class PlanItem:
    subcategory: str
    order: int  # position in the catalogue
    score: int
    due: date | None


def plan_order(items: Iterable[PlanItem]) -> list[PlanItem]:
    """The action plan: highest priority score first, then the nearest due date (undated
    last), then catalogue order; items with nothing to do (score 0) are left out."""
    todo = [i for i in items if i.score > 0]
    return sorted(todo, key=lambda i: (-i.score, i.due or date.max, i.order))


def sector_aggregate(per_org: Sequence[dict[str, float | None]]) -> dict[str, float | None]:
    """Per function, the mean over organisations of each organisation's mean current tier
    (each organisation weighs the same, however many subcategories it assessed)."""
    functions = sorted({f for org in per_org for f in org})
    return {f: mean((org.get(f) for org in per_org), 2) for f in functions}


# -- risk register -----------------------------------------------------------------------------

SCALE = range(1, 6)  # likelihood and impact: 1 (rare / minimal) to 5 (almost certain / severe)


def risk_score(likelihood: int, impact: int) -> int:
    """Likelihood × impact on the 5 × 5 matrix: 1 to 25."""
    if likelihood not in SCALE or impact not in SCALE:
        raise ValueError("likelihood and impact go from 1 to 5")
    return likelihood * impact


def risk_level(score: int) -> str:
    """low 1–4, medium 5–9, high 10–16, critical 20–25 (no product falls between)."""
    if score >= 20:
        return "critical"
    if score >= 10:
        return "high"
    return "medium" if score >= 5 else "low"


def heat_map(cells: Iterable[tuple[int, int]]) -> list[list[int]]:
    """Counts per cell: `grid[impact - 1][likelihood - 1]` for (likelihood, impact) pairs."""
    grid = [[0] * 5 for _ in SCALE]
    for likelihood, impact in cells:
        grid[impact - 1][likelihood - 1] += 1
    return grid


def review_due(review_on: date | None, today: date, notice_days: int) -> bool:
    """A review is due from `notice_days` before its date (and stays due until done)."""
    return review_on is not None and (review_on - today).days <= notice_days
