"""`minga exercise ...` and `minga scenario ...`: a drill run from a terminal, bad input
answered with a sentence and exit code 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from minga.cli import app
from minga.exercises import cli as exercise_cli
from tests.exercises.conftest import Drill

runner = CliRunner()


@pytest.fixture(autouse=True)
def _database(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MINGA_DATABASE_URL", db_url)
    monkeypatch.setattr(exercise_cli, "out", Console(width=200))


def _ok(*args: str) -> str:
    r = runner.invoke(app, list(args))
    assert r.exit_code == 0, r.output
    return r.output


def _refused(*args: str) -> str:
    r = runner.invoke(app, list(args))
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output
    return r.output


def test_a_drill_from_the_command_line(drill: Drill, tmp_path: Path) -> None:
    director = "hub-regional-coordinator"
    listed = _ok("scenario", "list")
    assert "costa-rica-2022-ransomware" in listed and "isac-phishing-ransomware" in listed
    made = _ok("exercise", "create", "isac-phishing-ransomware", "--name", "CLI drill",
               "--team", "CSIRT Hacienda", "--team", "CSIRT Aduanas", "--speed", "60",
               "--user", director)  # fmt: skip
    exercise_id = made.split("#")[1].split()[0]
    started = _ok("exercise", "start", exercise_id, "--user", director)
    assert "status running" in started and "2 inject(s) delivered" in started
    status = _ok("exercise", "status", exercise_id, "--user", director)
    assert "CSIRT Hacienda" in status and "0/" in status
    assert "CLI drill" in _ok("exercise", "list", "--user", director)
    ended = _ok("exercise", "end", exercise_id, "--user", director)
    assert "status ended" in ended
    out = tmp_path / "report.pdf"
    _ok("exercise", "report", exercise_id, "--out", str(out), "--lang", "pt", "--user", director)
    assert out.read_bytes().startswith(b"%PDF")
    # Export, change the key, import: a hub sharing a scenario with a national CSIRT.
    exported = tmp_path / "s.json"
    _ok("scenario", "export", "isac-phishing-ransomware", "--out", str(exported))
    doc = json.loads(exported.read_text())
    doc["key"] = "hub-shared"
    exported.write_text(json.dumps(doc))
    assert "hub-shared" in _ok("scenario", "import", str(exported), "--user", director)


def test_bad_input_is_a_sentence(drill: Drill, tmp_path: Path) -> None:
    director = "hub-regional-coordinator"
    assert "already stored" in _refused("scenario", "import", str(_export(tmp_path)),
                                        "--user", director)  # fmt: skip
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "minga-scenario/1", "key": "x y", "injects": []}')
    refused = _refused("scenario", "import", str(bad), "--user", director)
    assert "key: 2 to 80 letters" in refused and "injects: a list of 1 to" in refused
    bad.write_text("{not json")
    assert "not JSON" in _refused("scenario", "import", str(bad), "--user", director)
    assert "cannot read" in _refused("scenario", "import", str(tmp_path / "none.json"))
    assert "no scenario" in _refused("scenario", "export", "nope")
    assert "no exercise 999" in _refused("exercise", "status", "999", "--user", director)
    assert "cannot pause" in _refused("exercise", "pause", str(drill.exercise_id),
                                      "--user", director)  # fmt: skip
    assert "only the exercise's director" in _refused(
        "exercise", "start", str(drill.exercise_id), "--user", "evaluadores-analyst"
    )
    create = ("exercise", "create", "isac-phishing-ransomware", "--name", "x")
    assert "no organisation" in _refused(*create, "--team", "Nobody", "--user", director)
    assert ".html or .pdf" in _refused("exercise", "report", "1", "--out", "r.doc")


def _export(tmp_path: Path) -> Path:
    path = tmp_path / "again.json"
    _ok("scenario", "export", "costa-rica-2022-ransomware", "--out", str(path))
    return path
