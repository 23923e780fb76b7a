"""Reporting to the node through the on-disk outbox (against a live node on loopback): a re-send
after a crash is recognised, aggregates of an hour become versions of one sighting, the TLP is
never more open than the organisation chose, a refused item is set aside."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pyarrow as pa
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from minga.cli import app
from minga.intel import service as intel
from minga.intel.stix import TLP2_MARKING_ID
from minga.policy import Tlp
from minga.sensor.alerts import Alert
from minga.sensor.indicators import load_objects
from minga.sensor.match import IndicatorIndex
from minga.sensor.outbox import Outbox, sighting_id
from minga.sensor.readers import read_paths
from minga.sensor.report import Reporter, record_time_us
from minga.settings import Settings
from tests.conftest import Member, add_member
from tests.factories import indicator
from tests.taxii.conftest import LiveNode

E2E = Path(__file__).parent / "fixtures" / "e2e"
IP_ID = "indicator--6b1f4d6e-0000-4000-8000-000000000066"
LISTED = indicator(1, id=IP_ID, value="203.0.113.66", name="C2 address",
                   object_marking_refs=[TLP2_MARKING_ID[Tlp.AMBER]])  # fmt: skip


@pytest.fixture
def live(settings: Settings, engine: Engine) -> Iterator[str]:
    with LiveNode(settings, engine) as url:
        yield url


@pytest.fixture
def sensor(sessions: sessionmaker[Session]) -> Member:
    other = add_member(sessions, "Sharing CSIRT")
    with sessions() as s:
        intel.create_objects(s, other.principal, [copy.deepcopy(LISTED)])
        s.commit()
    return add_member(sessions, "Sensor Org", role="machine")


def _listed(url: str, member: Member) -> list[dict]:
    r = httpx.get(f"{url}/api/objects/{IP_ID}/sightings", headers=member.headers, timeout=60)
    return list(r.json()["sightings"])


def test_a_resend_after_a_crash_is_one_sighting(live, sensor, tmp_path):
    outbox = Outbox(str(tmp_path / "state"))
    reporter = Reporter(outbox, live, sensor.token, Tlp.GREEN, indicator_tlp=lambda _: Tlp.AMBER)
    reporter.start()
    index = IndicatorIndex(load_objects([LISTED]))
    (batch,) = list(read_paths(f"zeek:{E2E / 'conn.log'}"))
    reporter.seen(batch, list(index.match(batch)))
    reporter.checkpoint()
    assert reporter.flush().sightings == 1
    # the node committed, the sensor crashed before noting it: the same version goes again
    outbox.db.execute("UPDATE sightings SET sent_us = 0")
    assert reporter.flush().sightings == 1
    (seen,) = _listed(live, sensor)
    assert (seen["count"], seen["tlp"]) == (2, "amber")  # the stricter of GREEN and AMBER
    hour = int(datetime(2025, 12, 2, 10, tzinfo=UTC).timestamp()) * 1_000_000
    assert seen["id"] == sighting_id(reporter.identity, IP_ID, hour)
    versions = httpx.get(
        f"{live}/api/objects/{seen['id']}/versions", headers=sensor.headers, timeout=60
    )
    assert len(versions.json()["versions"]) == 1
    # more of the same hour: a new version of the same sighting, counted once
    reporter.seen(batch, list(index.match(batch)))
    reporter.checkpoint()
    assert reporter.flush().sightings == 1
    (seen,) = _listed(live, sensor)
    assert seen["count"] == 4
    assert outbox.pending().sightings == 0
    reporter.close()
    outbox.close()


def test_alerts_resent_and_refused(live, sensor, tmp_path):
    outbox = Outbox(str(tmp_path / "state"))
    reporter = Reporter(outbox, live, sensor.token)
    reporter.start()
    at = datetime(2025, 12, 2, 10, tzinfo=UTC)
    good = Alert("dga", 0.8, "random-looking names", at, at, source="10.1.1.20")
    huge = Alert("dga", 0.8, "with too much evidence", at, at, evidence={"x": "y" * 70_000})
    for alert in (good, huge):
        reporter.alert(alert)
    reporter.checkpoint()
    sent = reporter.flush()
    assert sent.alerts == 1 and len(sent.refused) == 1 and "evidence" in sent.refused[0]
    outbox.db.execute("UPDATE alerts SET sent = 0 WHERE refused IS NULL")
    assert reporter.flush().alerts == 1  # the node answers "already known"
    assert outbox.pending().refused == 1 and outbox.pending().alerts == 0
    listed = httpx.get(f"{live}/api/sensor/alerts", headers=sensor.headers, timeout=60).json()[
        "alerts"
    ]
    assert [a["reason"] for a in listed] == ["random-looking names"]
    reporter.close()
    outbox.close()


def test_record_times():
    table = pa.table(
        {
            "ts": ["1764669665.5", "2024-03-01 10:00:00", "Dec 10 06:55:46"],
            "timestamp": [None, None, "2024-03-01T10:00:00.000001+0000"],
        }
    )
    assert record_time_us(table, 0, 7) == 1_764_669_665_500_000
    assert record_time_us(table, 1, 7) > 0  # nfdump's local time
    assert record_time_us(table, 2, 7) == 1_709_287_200_000_001  # eve's ISO time
    assert record_time_us(pa.table({"ts": ["Dec 10 06:55:46"]}), 0, 7) == 7  # no year: read time


def test_reporting_settings_are_checked(tmp_path, monkeypatch):
    monkeypatch.setenv("SENSOR_TOKEN", "t")
    args = ["sensor", "run", "--node", "http://127.0.0.1:9", "--token-env", "SENSOR_TOKEN",
            "--input", f"zeek:{E2E}"]  # fmt: skip
    runner = CliRunner()
    result = runner.invoke(app, [*args, "--report"])
    assert result.exit_code == 2 and "--report needs --state" in result.output
    result = runner.invoke(app, [*args, "--state", str(tmp_path), "--tlp", "purple"])
    assert result.exit_code == 2 and "use clear, green" in result.output
    result = runner.invoke(app, [*args, "--alerts", str(tmp_path / "a.jsonl")])
    assert result.exit_code == 2 and "give --state DIR" in result.output
    assert "Traceback" not in result.output


def test_outbox_merges_an_hour_and_never_lowers_its_tlp(tmp_path):
    from minga.sensor.outbox import Seen

    outbox = Outbox(str(tmp_path))
    me = "identity--00000000-0000-4000-8000-000000000001"
    hour = 1_764_669_600_000_000
    outbox.record(me, [Seen(IP_ID, hour, 2, hour + 5, hour + 9, Tlp.RED)])
    ((first, v1),) = outbox.pending_sightings(me, 10)
    outbox.record(me, [Seen(IP_ID, hour, 3, hour + 1, hour + 7, Tlp.GREEN)])
    ((second, v2),) = outbox.pending_sightings(me, 10)
    assert second["id"] == first["id"] and second["created"] == first["created"] and v2 > v1
    assert (second["count"], second["first_seen"], second["last_seen"]) == (
        5, "2025-12-02T10:00:00.000001Z", "2025-12-02T10:00:00.000009Z",
    )  # fmt: skip
    assert second["object_marking_refs"] == [TLP2_MARKING_ID[Tlp.RED]]
    outbox.sent_sightings([(second["id"], v2)])
    assert outbox.pending_sightings(me, 10) == [] and outbox.pending().sightings == 0
    outbox.close()
