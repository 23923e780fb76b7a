"""The plain-language audience of each marking comes from the policy module."""

from __future__ import annotations

import pytest

from minga.policy import Reach, Tlp
from minga.web.markings import AUDIENCES, audience, audience_table


@pytest.mark.parametrize(
    ("tlp", "reach", "groups", "expected"),
    [
        (Tlp.GREEN, Reach.ORGANISATION, [], "own"),
        (Tlp.GREEN, Reach.ORGANISATION, [3], "own"),
        (Tlp.AMBER, Reach.COMMUNITY, [], "community"),
        (Tlp.CLEAR, Reach.CONNECTED, [], "connected"),
        (Tlp.GREEN, Reach.FEDERATION, [], "federation"),
        (Tlp.AMBER_STRICT, Reach.COMMUNITY, [], "own"),
        (Tlp.RED, Reach.FEDERATION, [], "own"),
        (Tlp.AMBER_STRICT, Reach.COMMUNITY, [3], "groups"),
        (Tlp.RED, Reach.CONNECTED, [3], "groups-federated"),
        (Tlp.AMBER, Reach.FEDERATION, [3], "groups-federated"),
    ],
)
def test_audience(tlp: Tlp, reach: Reach, groups: list[int], expected: str):
    assert audience(tlp, reach, groups) == expected


def test_table_covers_every_choice():
    table = audience_table()
    assert len(table) == len(Tlp) * len(Reach) * 2
    assert set(table.values()) == set(AUDIENCES)
    assert table["amber+strict|community|0"] == "own"
