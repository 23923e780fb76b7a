"""`minga sensor baseline` and the anomalies in `minga sensor scan`'s output."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from minga.cli import app
from tests.sensor.anomaly_data import (
    CONN_FIELDS,
    beacon_flows,
    normal_flows,
    scan_flows,
    write_log,
)  # fmt: skip

runner = CliRunner()


def test_baseline_then_scan_prints_alerts(tmp_path):
    base = write_log(tmp_path / "base.log", "conn", CONN_FIELDS, normal_flows(1500))
    model = tmp_path / "flows.npz"
    result = runner.invoke(app, ["sensor", "baseline", "--input", f"zeek:{base}",
                                 "--model", str(model)])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Baseline of 1,500 flows (30 most anomalous dropped)" in result.output
    rows = normal_flows(300, seed=9) + scan_flows(60) + beacon_flows(30, every=60.0)
    conn = write_log(tmp_path / "conn.log", "conn", CONN_FIELDS, rows)
    result = runner.invoke(app, ["sensor", "scan", str(conn), "--model", str(model), "--json"])
    assert result.exit_code == 0, result.output
    alerts = [json.loads(x) for x in result.stdout.splitlines() if '"type":"alert"' in x]
    found = {(a["detector"], a["source"]) for a in alerts}
    assert ("flow-knn", "10.0.0.66") in found and ("beaconing", "10.0.0.7") in found
    assert all(a["reason"] and 0 <= a["score"] <= 1 for a in alerts)
    table = runner.invoke(app, ["sensor", "scan", str(conn), "--model", str(model)],
                          env={"COLUMNS": "200"})  # fmt: skip
    assert table.exit_code == 0 and "Anomalies" in table.output
    assert "flow-knn" in table.output and "beaconing" in table.output


def test_scan_without_a_model_says_so(tmp_path):
    conn = write_log(tmp_path / "conn.log", "conn", CONN_FIELDS, normal_flows(50))
    result = runner.invoke(app, ["sensor", "scan", str(conn)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "No --model given" in result.output and "No anomaly found." in result.output


def test_bad_model_and_bad_baseline_are_sentences(tmp_path):
    conn = write_log(tmp_path / "conn.log", "conn", CONN_FIELDS, normal_flows(10))
    junk = tmp_path / "junk.npz"
    junk.write_text("no")
    result = runner.invoke(app, ["sensor", "scan", str(conn), "--model", str(junk)])
    assert result.exit_code == 2 and "not a flow model file" in result.output
    result = runner.invoke(app, ["sensor", "baseline", "--input", str(conn),
                                 "--model", str(tmp_path / "m.npz")])  # fmt: skip
    assert result.exit_code == 2 and "too small to train on" in result.output
    result = runner.invoke(app, ["sensor", "scan", str(conn), "--threshold", "3"])
    assert result.exit_code == 2 and "--threshold" in result.output
