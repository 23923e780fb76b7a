"""The assessment rules of `minga.policy` (pure functions) and the server-drawn charts."""

from __future__ import annotations

import re

from minga.assessments import charts
from minga.policy import (
    Action,
    Principal,
    Role,
    Target,
    may,
    may_read_assessment,
    may_see_sector_aggregate,
)


def _p(org: int, role: Role = Role.ANALYST, **kw) -> Principal:
    return Principal(user_id=org * 10, org_id=org, role=role, identity_ref=f"identity--{org}", **kw)


def test_only_the_organisation_assesses_itself():
    assert may(_p(1), Action.ASSESS, Target(1))
    assert not may(_p(1), Action.ASSESS, Target(2))
    assert not may(_p(1, Role.READER), Action.ASSESS, Target(1))
    assert not may(_p(1, Role.ADMIN, operator_org=True), Action.ASSESS, Target(2))


def test_who_reads_an_assessment():
    operator = _p(9, Role.ADMIN, operator_org=True)
    assert may_read_assessment(_p(1), 1, completed=False)
    assert not may_read_assessment(_p(2, Role.ADMIN), 1, completed=True)
    # The node operator reads a completed national assessment, never a draft.
    assert may_read_assessment(operator, 1, completed=True)
    assert not may_read_assessment(operator, 1, completed=False)
    assert not may_read_assessment(_p(9, Role.ANALYST, operator_org=True), 1, completed=True)
    assert not may_read_assessment(_p(1, remote=True), 1, completed=False)


def test_sector_aggregate_rule():
    coord = _p(1, Role.COORDINATOR)
    assert may_see_sector_aggregate(coord, own_sector="health", sector="health", consenting_orgs=3)
    assert not may_see_sector_aggregate(
        coord, own_sector="health", sector="health", consenting_orgs=2
    )
    assert not may_see_sector_aggregate(
        coord, own_sector="finance", sector="health", consenting_orgs=5
    )
    isac = _p(7, Role.ADMIN, operator_org=True)
    assert may_see_sector_aggregate(isac, own_sector="", sector="health", consenting_orgs=3)
    assert not may_see_sector_aggregate(
        _p(1), own_sector="health", sector="health", consenting_orgs=10
    )


def test_radar_points_are_where_the_values_say():
    svg = str(charts.radar(["A", "B", "C", "D"], [charts.Series("x", [4, 2, 0, None])],
                           top=4, title="t", chart_id="r"))  # fmt: skip
    polygons = re.findall(r'<polygon points="([^"]+)" fill="#', svg)
    points = [tuple(map(float, p.split(","))) for p in polygons[0].split()]
    cx = cy = 220.0
    r = 220.0 - 70
    # A at the top (full radius), B to the right at half, C and D at the centre.
    assert points[0] == (cx, cy - r)
    assert points[1] == (cx + r / 2, cy)
    assert points[2] == (cx, cy) and points[3] == (cx, cy)
    assert "x: A 4, B 2, C 0, D -" in svg


def test_heat_map_cells_and_colours():
    grid = [[0] * 5 for _ in range(5)]
    grid[4][3] = 2  # impact 5, likelihood 4
    levels = [["low"] * 5 for _ in range(5)]
    levels[4][3] = "critical"
    svg = str(charts.heat_map(grid, levels, title="t", x_label="L", y_label="I", chart_id="h"))
    assert "L4×I5: 2" in svg
    assert svg.count('fill="#e57373"') == 1  # the one critical cell
    assert ">2</text>" in svg
