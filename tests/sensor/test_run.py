"""`minga sensor run` against a live node (uvicorn on loopback), and following rotated logs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from minga.cli import app
from minga.intel.stix import TLP2_MARKING_ID
from minga.policy import Tlp
from minga.sensor.follow import Followed
from minga.settings import Settings
from tests.conftest import Member, add_member
from tests.factories import indicator
from tests.taxii.conftest import LiveNode, post_envelope

FIXTURES = Path(__file__).parent / "fixtures"
runner = CliRunner()
CONN = (FIXTURES / "conn.log").read_bytes().split(b"\n")  # 8 header lines, then records


@pytest.fixture(autouse=True)
def _no_background_pulls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MINGA_TAXII_PULL_CHECK_SECONDS", "0")


@pytest.fixture
def live(settings: Settings, engine: Engine) -> Iterator[str]:
    with LiveNode(settings, engine) as url:
        yield url


@pytest.fixture
def member(client: TestClient, sessions: sessionmaker[Session]) -> Member:
    """A member whose machine account runs the sensor; another member shares two indicators
    with the community and keeps one at TLP:RED (not for the sensor's organisation)."""
    other = add_member(sessions, "Other CSIRT")
    shared = [
        indicator(1, pattern="[domain-name:value = 'gatyfus.com']", name="Simda DGA"),
        indicator(2, value="192.168.1.114", name="NjRAT host",
                  object_marking_refs=[TLP2_MARKING_ID[Tlp.GREEN]]),
        indicator(3, value="192.168.1.1", name="secret",
                  object_marking_refs=[TLP2_MARKING_ID[Tlp.RED]]),
    ]  # fmt: skip
    assert post_envelope(client, other.token, shared).status_code == 202
    return add_member(sessions, "Sensor Org", role="machine")


def test_run_once_against_the_node(live, member, monkeypatch, tmp_path):
    monkeypatch.setenv("SENSOR_TOKEN", member.token)
    zeek = tmp_path / "zeek"
    zeek.mkdir()
    for name in ("conn.log", "http.log"):
        shutil.copy(FIXTURES / name, zeek / name)
    result = runner.invoke(
        app,
        ["sensor", "run", "--node", live, "--token-env", "SENSOR_TOKEN",
         "--input", f"zeek:{zeek}", "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines[0] == {"type": "indicators", "loaded": 2, "skipped": {}}  # RED one not visible
    found = [x for x in lines if x["type"] == "match"]
    names = {x["indicator_name"] for x in found}
    assert names == {"Simda DGA", "NjRAT host"}
    conn = [x for x in found if x["log"] == "conn"]
    raw = [CONN[x["line"] - 1].split(b"\t") for x in conn]
    assert conn and all(b"192.168.1.114" in (r[2], r[4]) for r in raw)
    assert {x["why"] for x in found} == {"name is listed", "address is listed"}


def test_run_refuses_bad_settings(live, member, monkeypatch, tmp_path):
    monkeypatch.delenv("SENSOR_TOKEN", raising=False)
    args = ["sensor", "run", "--node", live, "--token-env", "SENSOR_TOKEN"]
    result = runner.invoke(app, [*args, "--input", f"zeek:{FIXTURES}"])
    assert result.exit_code == 2 and "holds no token" in result.output
    monkeypatch.setenv("SENSOR_TOKEN", member.token)
    result = runner.invoke(app, [*args, "--input", f"pcap:{FIXTURES}"])
    assert result.exit_code == 2 and "use KIND:PATH" in result.output
    monkeypatch.setenv("SENSOR_TOKEN", "not-a-token")
    result = runner.invoke(app, [*args, "--input", f"zeek:{FIXTURES}"])
    assert result.exit_code == 3 and "cannot pull indicators" in result.output
    assert "Traceback" not in result.output


def test_follow_survives_rotation_and_truncation(tmp_path):
    log = tmp_path / "conn.log"
    log.write_bytes(b"\n".join(CONN[:15]) + b"\n")
    follower = Followed(str(log), kind="zeek")
    (first,) = follower.poll()
    assert first.lines.tolist() == list(range(9, 16))
    with log.open("ab") as fh:  # lines 16..30 (29 is the malformed one) and half of line 31
        fh.write(b"\n".join(CONN[15:30]) + b"\n" + CONN[30][:10])
    (second,) = follower.poll()
    assert second.lines.tolist() == [*range(16, 29), 30]
    assert [m.line for m in second.malformed] == [29]
    assert follower.poll() == []  # the half line waits
    with log.open("ab") as fh:  # the rest of line 31 and line 32, then rotation
        fh.write(CONN[30][10:] + b"\n" + CONN[31] + b"\n")
    log.rename(tmp_path / "conn.log.1")
    log.write_bytes(b"\n".join(CONN[:12]) + b"\n")
    old, new = follower.poll()
    assert old.lines.tolist() == [31, 32]  # written before the rotation: not lost
    assert old.table.column("uid").to_pylist() == [
        CONN[30].split(b"\t")[1].decode(),
        CONN[31].split(b"\t")[1].decode(),
    ]
    assert new.lines.tolist() == [9, 10, 11, 12]
    log.write_bytes(b"\n".join(CONN[:10]) + b"\n")  # truncated and rewritten in place
    (again,) = follower.poll()
    assert again.lines.tolist() == [9, 10]
    assert follower.rotations == 2
    follower.close()


def test_run_follow_in_its_own_process(live, member, tmp_path):
    zeek = tmp_path / "zeek"
    zeek.mkdir()
    log = zeek / "conn.log"
    log.write_bytes(b"\n".join(CONN[:10]) + b"\n")  # no listed address yet
    env = {**os.environ, "SENSOR_TOKEN": member.token}
    proc = subprocess.Popen(
        [sys.executable, "-c", "from minga.cli import main; main()", "sensor", "run",
         "--node", live, "--token-env", "SENSOR_TOKEN", "--input", f"zeek:{zeek}",
         "--follow", "--interval", "0.2", "--for", "6", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
    )  # fmt: skip
    assert proc.stdout is not None
    seen: list[dict[str, object]] = []
    deadline = time.monotonic() + 120
    while not any(x["type"] == "read" for x in seen):  # the first pass is done
        assert time.monotonic() < deadline and proc.poll() is None, proc.stderr
        seen.append(json.loads(proc.stdout.readline()))
    with log.open("ab") as fh:  # line 12 holds 192.168.1.114
        fh.write(b"\n".join(CONN[10:12]) + b"\n")
    time.sleep(1.5)
    log.rename(zeek / "conn.2024-03-01-10-00-00.log")  # rotated as Zeek names it: not an input
    log.write_bytes(b"\n".join(CONN[:8] + CONN[11:13]) + b"\n")
    out, errors = proc.communicate(timeout=120)
    assert proc.returncode == 0, errors
    seen += [json.loads(line) for line in out.decode().splitlines()]
    found = [(x["file"], x["line"], x["value"]) for x in seen if x["type"] == "match"]
    assert (str(log), 12, "192.168.1.114") in found  # appended before the rotation
    assert (str(log), 9, "192.168.1.114") in found  # first record of the new file
    records = sum(
        int(str(x["records"])) for x in seen if x["type"] == "read" and x["log"] == "conn"
    )
    assert records == 2 + 2 + 2  # each record read once
