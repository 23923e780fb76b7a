"""The documented formulas (docs/assessments.md) against cases worked out by hand."""

from __future__ import annotations

from datetime import date

import pytest

from minga.assessments import frameworks, scoring


def test_factor_stage_is_the_lowest_aspect_stage():
    # D1.1 with aspects at 3, 2, 4, 3: the factor is formative (2).
    assert scoring.factor_stage([3, 2, 4, 3]) == 2
    assert scoring.factor_stage([5]) == 5
    assert scoring.factor_stage([3, None, 4]) is None
    assert scoring.factor_stage([]) is None


def test_dimension_score_is_the_mean_of_assessed_factors():
    # Factors at 2, 3, 1, 2: (2 + 3 + 1 + 2) / 4 = 2.0; 1, 2, 2 -> 5 / 3 = 1.67 -> 1.7.
    assert scoring.dimension_score([2, 3, 1, 2]) == 2.0
    assert scoring.dimension_score([1, 2, 2]) == 1.7
    assert scoring.dimension_score([4, None]) == 4.0
    assert scoring.dimension_score([None, None]) is None


def test_csf_gap_priority_and_band():
    assert scoring.tier_gap(1, 3) == 2
    assert scoring.tier_gap(4, 2) == 0  # already above the target: nothing to climb
    assert scoring.tier_gap(None, 3) is None
    # gap 2 × high (3) = 6: high; gap 1 × high = 3: medium; gap 2 × low = 2: low.
    assert [scoring.priority_score(g, i) for g, i in [(2, 3), (1, 3), (2, 1), (0, 3)]] == [
        6,
        3,
        2,
        0,
    ]
    assert [scoring.priority_band(s) for s in (9, 6, 5, 3, 2, 1, 0)] == [
        "high",
        "high",
        "medium",
        "medium",
        "low",
        "low",
        "none",
    ]


def test_action_plan_order():
    items = [
        scoring.PlanItem("A", 0, 3, date(2027, 3, 1)),
        scoring.PlanItem("B", 1, 6, None),
        scoring.PlanItem("C", 2, 3, date(2027, 1, 1)),
        scoring.PlanItem("D", 3, 0, date(2026, 1, 1)),
        scoring.PlanItem("E", 4, 3, None),
    ]
    # B first (score 6); then the 3s by due date (C before A), undated E last; D has no gap.
    assert [i.subcategory for i in scoring.plan_order(items)] == ["B", "C", "A", "E"]


def test_sector_aggregate_weighs_each_organisation_once():
    per_org = [{"GV": 2.0, "ID": 1.0}, {"GV": 3.0, "ID": None}, {"GV": 1.0, "ID": 2.0}]
    # GV: (2 + 3 + 1) / 3 = 2.0; ID: (1 + 2) / 2 = 1.5 (an organisation without ID is left out)
    assert scoring.sector_aggregate(per_org) == {"GV": 2.0, "ID": 1.5}


@pytest.mark.parametrize(
    ("likelihood", "impact", "score", "level"),
    [(1, 1, 1, "low"), (2, 2, 4, "low"), (1, 5, 5, "medium"), (3, 3, 9, "medium"),
     (2, 5, 10, "high"), (4, 4, 16, "high"), (4, 5, 20, "critical"), (5, 5, 25, "critical")],
)  # fmt: skip
def test_risk_score_and_level(likelihood, impact, score, level):
    assert scoring.risk_score(likelihood, impact) == score
    assert scoring.risk_level(score) == level


def test_risk_score_refuses_off_scale():
    with pytest.raises(ValueError):
        scoring.risk_score(0, 3)
    with pytest.raises(ValueError):
        scoring.risk_score(3, 6)


def test_heat_map_counts_per_cell():
    grid = scoring.heat_map([(1, 1), (5, 4), (5, 4), (2, 5)])
    assert grid[0][0] == 1  # impact 1, likelihood 1
    assert grid[3][4] == 2  # impact 4, likelihood 5
    assert grid[4][1] == 1  # impact 5, likelihood 2
    assert sum(map(sum, grid)) == 4


def test_review_due():
    today = date(2026, 12, 2)
    assert scoring.review_due(date(2026, 12, 16), today, 14)
    assert not scoring.review_due(date(2026, 12, 17), today, 14)
    assert scoring.review_due(date(2026, 11, 1), today, 0)  # overdue stays due


def test_catalogues_have_the_published_shape():
    cmm = frameworks.cmm()
    assert [len(d.factors) for d in cmm.dimensions] == [4, 5, 4, 4, 6]
    assert len(cmm.factors) == 23
    assert [s.id for s in cmm.stages] == [
        "start-up",
        "formative",
        "established",
        "strategic",
        "dynamic",
    ]
    # 56 named aspects, plus 5 factors the source lists without aspects (assessed whole)
    assert len(cmm.aspects) == 61
    assert cmm.aspect("D2.3.0") is not None and cmm.aspect("D2.3.0").name.startswith("User")
    csf = frameworks.csf()
    assert [f.id for f in csf.functions] == ["GV", "ID", "PR", "DE", "RS", "RC"]
    assert sum(len(f.categories) for f in csf.functions) == 22
    assert len(csf.subcategories) == 106
    assert csf.subcategory("GV.OC-01").statement.startswith("The organizational mission")
    assert csf.subcategory("ID.AM-06") is None  # withdrawn in 2.0
