"""`minga incident list|show|create|escalate|acknowledge|status|deadlines` on both backends."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from minga.cli import app
from minga.incidents import cli as incident_cli
from tests.incidents.conftest import Community

runner = CliRunner()


@pytest.fixture(autouse=True)
def _database(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MINGA_DATABASE_URL", db_url)
    monkeypatch.setenv("COLUMNS", "200")
    # The command's console was made at import, whatever COLUMNS said then: a wide one, so
    # titles are not wrapped inside the table's cells.
    monkeypatch.setattr(incident_cli, "out", Console(width=200))


def _run(*args: str) -> str:
    r = runner.invoke(app, ["incident", *args])
    assert r.exit_code == 0, r.output
    return r.output


def test_the_chain_from_the_command_line(community: Community) -> None:
    victim, isac, csirt = (
        "banco-victima-analyst",
        "isac-financiero-analyst",
        "csirt-nacional-analyst",
    )
    made = _run(
        "create", "Phishing wave", "--classification", "fraud:phishing", "--severity", "high",
        "--affected", "Banco Victima", "--playbook", "phishing", "--lang", "es", "--user", victim,
    )  # fmt: skip
    found = re.search(r"#(\d+) opened with (\d+) tasks", made)
    assert found is not None, made
    first = found.group(1)
    assert "Phishing wave" in _run("list", "--user", victim)
    assert "Phishing wave" not in _run("list", "--user", "otra-empresa-analyst")
    esc = _run("escalate", first, "--to", "ISAC Financiero", "--ack-hours", "2", "--user", victim)
    second = re.search(r"incident #(\d+)", esc)
    assert second is not None
    due = _run("deadlines", "--user", isac)
    assert "acknowledge" in due and "pending" in due
    _run("acknowledge", second.group(1), "--user", isac)
    _run("status", second.group(1), "in-progress", "--user", isac)
    shown = _run("show", first, "--user", csirt)  # the coordinator oversees it
    assert "Banco Victima → #" in shown and "acknowledged" in shown
    assert "escalated" in shown and "fraud / Phishing" in shown


def test_bad_input_exits_2_with_a_sentence(community: Community) -> None:
    r = runner.invoke(
        app,
        ["incident", "create", "x", "--classification", "nope", "--severity", "high",
         "--user", "banco-victima-analyst"],
    )  # fmt: skip
    assert r.exit_code == 2 and "unknown classification" in r.output
    r = runner.invoke(app, ["incident", "show", "424242", "--user", "banco-victima-analyst"])
    assert r.exit_code == 2 and "no incident 424242" in r.output
    assert "Traceback" not in r.output


def test_import_thehive_and_export(community: Community, tmp_path: Path) -> None:
    from tests.incidents.test_exchange import THEHIVE_CASE

    case = tmp_path / "case.json"
    case.write_text(json.dumps(THEHIVE_CASE))
    made = _run("import-thehive", str(case), "--user", "banco-victima-analyst")
    found = re.search(r"#(\d+) imported", made)
    assert found is not None, made
    stix = json.loads(_run("export", found.group(1), "--user", "banco-victima-analyst"))
    assert [o["name"] for o in stix["objects"] if o["type"] == "incident"] == [
        "Phishing on payroll"
    ]
    misp = _run("export", found.group(1), "--format", "misp", "--user", "banco-victima-analyst")
    assert json.loads(misp)["Event"]["info"] == "Phishing on payroll"
