"""A sighting made on another node travels back over federation and counts at the origin."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from minga.correlate import scores, sightings
from minga.correlate.score_models import sightings as sighting_rows
from minga.intel.stix import now_ts
from minga.policy import Reach, Tlp
from tests.federation.localnodes import LocalNode, connect, sqlite_copy, start_node


@pytest.fixture
def nodes(db_url: str, sqlite_template: Path, tmp_path: Path) -> Iterator[list[LocalNode]]:
    started = [start_node("a", db_url, "GT")]
    started.append(start_node("b", sqlite_copy(sqlite_template, tmp_path), "CR"))
    yield started
    for n in started:
        n.close()


def test_sighting_from_a_federated_node_counts_at_the_origin(nodes: list[LocalNode]) -> None:
    a, b = nodes
    connect(a, b)
    ts = now_ts()
    ind = {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--{uuid.uuid4()}",
        "created": ts,
        "modified": ts,
        "pattern": "[domain-name:value = 'phish.example']",
        "pattern_type": "stix",
        "valid_from": ts,
        "confidence": 60,
    }
    a.publish(ind, tlp=Tlp.GREEN, reach=Reach.FEDERATION)
    a.push(b)
    with b.sessions() as s:
        sightings.record(s, b.member, ind["id"], count=2, reach=Reach.FEDERATION, tlp=Tlp.GREEN)
        # An anonymous one stays on b: counted there, never sent.
        sightings.record(s, b.member, ind["id"], anonymous=True)
        s.commit()
        assert sightings.summary(s, b.member, ind["id"]).sightings == 3
    b.push(a)
    with a.sessions() as s:
        rows = s.execute(select(sighting_rows.c.observer, sighting_rows.c.count)).all()
        assert rows == [("federation", 2)]
        summary = sightings.summary(s, a.member, ind["id"])
        assert (summary.sightings, summary.organisations, summary.anonymous) == (2, 1, 0)
        listed = sightings.listing(s, a.member, ind["id"])
        assert [(v.organisation, v.country, v.observer) for v in listed] == [
            ("CSIRT b", "CR", "federation")
        ]
        score = scores.score_of(s, [ind["id"]])[ind["id"]]
        assert (score.sightings, score.organisations, score.model) == (2, 1, "domain")
        assert score.base == pytest.approx(70.0, abs=0.05)
