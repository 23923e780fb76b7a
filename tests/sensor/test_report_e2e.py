"""End to end: `minga sensor run --state` (its own process) against `minga serve` (its own
process), telemetry in → sightings the organisation sees on the node, and an alert on the
review page; the node is killed (SIGKILL) and restarted mid-run, and every sighting arrives
exactly once."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from minga.accounts import service as accounts
from minga.cli import app
from minga.intel import service as intel
from minga.sensor.alerts import Alert
from minga.settings import Settings
from tests.conftest import Member, add_member
from tests.factories import indicator
from tests.intel.served import Served, free_port
from tests.web.conftest import sign_in

E2E = Path(__file__).parent / "fixtures" / "e2e"
IP_ID = "indicator--6b1f4d6e-0000-4000-8000-000000000066"
DOMAIN_ID = "indicator--6b1f4d6e-0000-4000-8000-0000000000d0"
HOUR10 = "2025-12-02T10:00:00Z"


def _share_indicators(sessions: sessionmaker[Session]) -> None:
    other = add_member(sessions, "Sharing CSIRT")
    objs = [
        indicator(1, id=IP_ID, value="203.0.113.66", name="C2 address"),
        indicator(2, id=DOMAIN_ID, pattern="[domain-name:value = 'badcdn.net']", name="C2 name"),
    ]
    with sessions() as s:
        intel.create_objects(s, other.principal, objs)
        s.commit()


def _machine(sessions: sessionmaker[Session], analyst: Member) -> str:
    with sessions() as s:
        user = accounts.create_user(s, None, org_id=analyst.org_id, name="sensor-1", role="machine")
        _, issued = accounts.issue_token(s, None, user_id=user.id)
        s.commit()
    return issued.token


def _sightings(url: str, token: str, stix_id: str) -> list[dict[str, Any]]:
    r = httpx.get(
        f"{url}/api/objects/{stix_id}/sightings",
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    assert r.status_code == 200, r.text
    return sorted(r.json()["sightings"], key=lambda s: s["first_seen"])


class Lines:
    """The sensor's JSON lines, read as they come (by a thread, so a silent sensor fails the
    test at its deadline instead of hanging it)."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc
        self.seen: list[dict[str, Any]] = []
        self.queue: queue.Queue[bytes] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.queue.put(line)
        self.queue.put(b"")

    def until(self, done: Any, what: str) -> None:
        deadline = time.monotonic() + 180
        while not done(self.seen):
            try:
                line = self.queue.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"waited for {what}: {self.seen[-5:]}") from None
            assert line, f"the sensor ended before {what}: {self.seen[-5:]}"
            self.seen.append(json.loads(line))

    def reported(self, key: str) -> int:
        return sum(int(x[key]) for x in self.seen if x["type"] == "reported")


def test_sensor_reports_through_a_node_killed_and_restarted(
    db_url: str,
    sessions: sessionmaker[Session],
    settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
):
    _share_indicators(sessions)
    analyst = add_member(sessions, "Sensor Org")
    token = _machine(sessions, analyst)
    zeek = tmp_path / "zeek"
    zeek.mkdir()
    for name in ("conn.log", "dns.log"):
        (zeek / name).write_bytes((E2E / name).read_bytes())
    alerts = tmp_path / "alerts.jsonl"
    alerts.write_text("")
    state = tmp_path / "state"
    node = Served(db_url, tmp_path / "serve.log", port=free_port())
    url = node.__enter__()
    env = {**os.environ, "SENSOR_TOKEN": token}
    args = ["sensor", "run", "--node", url, "--token-env", "SENSOR_TOKEN",
            "--input", f"zeek:{zeek}", "--state", str(state), "--json"]  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-c", "from minga.cli import main; main()", *args,
         "--follow", "--interval", "0.2", "--retry", "1", "--alerts", str(alerts)],
        stdout=subprocess.PIPE, stderr=(tmp_path / "sensor.err").open("wb"), env=env,
    )  # fmt: skip
    out = Lines(proc)
    try:
        # first pass: two records with the address, one name under the listed domain
        out.until(lambda seen: out.reported("sightings") >= 2, "the first sightings")
        assert {x["indicator"] for x in out.seen if x["type"] == "match"} == {IP_ID, DOMAIN_ID}
        node.process.send_signal(signal.SIGKILL)  # type: ignore[union-attr]
        node.process.wait()  # type: ignore[union-attr]
        with (zeek / "conn.log").open("ab") as fh:
            fh.write((E2E / "conn.more").read_bytes())
        beacon = Alert("beaconing", 0.91, "connections every 60 s (±0.4 s) to one address",
                       first_seen=_dt(HOUR10), last_seen=_dt("2025-12-02T10:59:00Z"),
                       source="10.1.1.20", destination="203.0.113.66", count=58,
                       features={"interval_s": 60.0, "jitter_s": 0.4})  # fmt: skip
        alerts.write_text(json.dumps(beacon.as_json()) + "\n")
        out.until(
            lambda seen: any(
                x["type"] == "warning" and "kept in the queue" in x["message"] for x in seen
            ),
            "the sensor to find the node down",
        )
        node.process = None
        node.__enter__()  # the same database and port
        out.until(
            lambda seen: out.reported("alerts") >= 1 and out.reported("sightings") >= 4,
            "the queue to drain",
        )
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=120) == 0, (tmp_path / "sensor.err").read_text()

        ip = _sightings(url, token, IP_ID)
        domain = _sightings(url, token, DOMAIN_ID)
        # one sighting per indicator per hour, each counted once: 10:xx 2 + 2 records, 11:xx 1
        assert [(s["first_seen"][:13], s["count"]) for s in ip] == [
            ("2025-12-02T10", 4), ("2025-12-02T11", 1),
        ]  # fmt: skip
        assert [(s["count"], s["observer"], s["mine"]) for s in domain] == [(1, "sensor", True)]
        assert all(s["tlp"] == "amber" and s["organisation"] == "Sensor Org" for s in ip + domain)
        headers = {"Authorization": f"Bearer {analyst.token}"}
        versions = httpx.get(
            f"{url}/api/objects/{ip[0]['id']}/versions", headers=headers, timeout=60
        )
        counts = [v["object"]["count"] for v in versions.json()["versions"]]
        assert counts == [2, 4]  # the first report, then the hour's new total: no duplicates
        listed = httpx.get(f"{url}/api/sensor/alerts", headers=headers, timeout=60).json()["alerts"]
        assert [(a["detector"], a["destination"], a["status"]) for a in listed] == [
            ("beaconing", "203.0.113.66", "open")
        ]

        # a second run on the same state reads nothing twice and sends nothing again
        monkeypatch.setenv("SENSOR_TOKEN", token)
        again = CliRunner().invoke(app, args)
        assert again.exit_code == 0, again.output
        assert not [x for x in again.stdout.splitlines() if '"match"' in x]
        assert _sightings(url, token, IP_ID) == ip
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        node.__exit__()

    from minga.app import create_app

    with TestClient(create_app(settings)) as web:
        sign_in(web, analyst.token)
        page = web.get(f"/sensor/alerts/{listed[0]['id']}")
        assert page.status_code == 200
        assert "connections every 60 s" in page.text and "interval_s" in page.text


def _dt(ts: str) -> Any:
    from datetime import datetime

    return datetime.fromisoformat(ts.replace("Z", "+00:00"))
