"""`minga sensor scan`: tables for a person, JSON lines for a pipeline, a sentence on bad input."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from minga.cli import app

FIXTURES = Path(__file__).parent / "fixtures"
runner = CliRunner()


def bundle(tmp_path: Path) -> Path:
    def indicator(n: int, name: str, pattern: str) -> dict[str, object]:
        return {"type": "indicator", "spec_version": "2.1", "name": name, "pattern": pattern,
                "id": f"indicator--{n:08d}-0000-4000-8000-000000000000", "pattern_type": "stix",
                "created": "2024-01-01T00:00:00Z", "modified": "2024-01-01T00:00:00Z",
                "valid_from": "2024-01-01T00:00:00Z"}  # fmt: skip

    objects = [
        indicator(1, "Simda DGA", "[domain-name:value = 'gatyfus.com']"),
        indicator(2, "Kovter C2", "[ipv4-addr:value = '198.144.30.0/24']"),
        indicator(3, "pair", "[ipv4-addr:value = '1.2.3.4'] AND [domain-name:value = 'x.example']"),
    ]
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps({"type": "bundle", "id": "bundle--1", "objects": objects}))
    return path


def test_scan_json_lines(tmp_path):
    result = runner.invoke(
        app,
        ["sensor", "scan", str(FIXTURES / "http.log"), str(FIXTURES / "nfcapd.csv"),
         "--indicators", str(bundle(tmp_path)), "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    head = lines[0]
    assert head["type"] == "indicators" and head["loaded"] == 2
    assert list(head["skipped"].values()) == [1]
    found = [x for x in lines if x["type"] == "match"]
    http = [m for m in found if m["log"] == "http"]
    assert http and all(m["value"] == "gatyfus.com" and m["why"] == "name is listed" for m in http)
    first = http[0]
    raw = (FIXTURES / "http.log").read_text().splitlines()[first["line"] - 1].split("\t")
    assert first["record"]["uid"] == raw[1] and first["record"]["host"] == "gatyfus.com"
    assert first["indicator_name"] == "Simda DGA"
    assert first["indicator"].startswith("indicator--00000001")
    flows = [m for m in found if m["log"] == "netflow"]
    assert [(m["line"], m["field"], m["value"]) for m in flows] == [(5, "sa", "198.144.30.128")]
    assert flows[0]["why"] == "address is inside listed 198.144.30.0/24"
    assert {"type": "malformed", "file": str(FIXTURES / "nfcapd.csv"), "line": 4,
            "reason": "6 fields where 48 are expected"} in lines  # fmt: skip
    reads = {x["log"]: x for x in lines if x["type"] == "read"}
    assert reads["netflow"]["records"] == 3 and reads["netflow"]["matches"] == 1
    assert reads["http"]["matches"] == len(http)


def test_scan_tables(tmp_path):
    result = runner.invoke(
        app, ["sensor", "scan", str(FIXTURES / "eve.json"), "--indicators", str(bundle(tmp_path))]
    )
    assert result.exit_code == 0, result.output
    assert "2 indicators loaded" in result.output
    assert "Matches" in result.output and "Simda DGA" in result.output
    assert "eve.json:7" in result.output  # the malformed line, by number


def test_scan_without_indicators_reads_and_counts():
    result = runner.invoke(app, ["sensor", "scan", str(FIXTURES / "auth.log"), "--json"])
    assert result.exit_code == 0
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [x["line"] for x in lines if x["type"] == "malformed"] == [31]
    assert next(x for x in lines if x["type"] == "read")["records"] == 40


def test_scan_bad_input_is_one_sentence(tmp_path):
    result = runner.invoke(app, ["sensor", "scan", str(tmp_path / "nope.log")])
    assert result.exit_code == 2
    assert "cannot read" in result.output and "Traceback" not in result.output
    junk = tmp_path / "junk.json"
    junk.write_text("{not json")
    result = runner.invoke(
        app, ["sensor", "scan", str(FIXTURES / "conn.log"), "--indicators", str(junk)]
    )
    assert result.exit_code == 2
    assert "is not JSON" in result.output and "Traceback" not in result.output
    result = runner.invoke(
        app, ["sensor", "scan", str(FIXTURES / "conn.log"), str(tmp_path / "gone.log")]
    )
    assert result.exit_code == 2  # the readable file is still reported
    assert "conn" in result.output and "cannot read" in result.output
