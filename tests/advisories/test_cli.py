"""`minga advisory list|draft|publish|withdraw`, acting as a named person the policy checks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from minga.accounts.models import User
from minga.advisories.models import Advisory
from minga.cli import app
from tests.advisories.conftest import Csirt, body

runner = CliRunner()


@pytest.fixture
def env(db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("MINGA_DATABASE_URL", db_url)
    monkeypatch.setenv("MINGA_NODE_NAME", "csirt-test")
    return db_url


def _names(sessions: sessionmaker[Session], csirt: Csirt) -> tuple[str, str]:
    with sessions() as s:
        analyst = s.get(User, csirt.analyst.user_id)
        coordinator = s.get(User, csirt.coordinator.user_id)
        assert analyst is not None and coordinator is not None
        return analyst.name, coordinator.name


def test_list_draft_publish_withdraw(
    env: str, csirt: Csirt, sessions: sessionmaker[Session], tmp_path: Path
):
    analyst, coordinator = _names(sessions, csirt)
    empty = runner.invoke(app, ["advisory", "list"])
    assert empty.exit_code == 0 and "No advisories." in empty.output
    source = tmp_path / "advisory.json"
    source.write_text(json.dumps(body(csirt)))
    r = runner.invoke(app, ["advisory", "draft", str(source), "--as", analyst])
    assert r.exit_code == 0, r.output
    year_ids = [line.split()[1].rstrip(".") for line in r.output.splitlines() if "Drafted" in line]
    tracking_id = year_ids[0]
    assert tracking_id.startswith("CSIRT-TEST-") and tracking_id.endswith("-0001")

    refused = runner.invoke(app, ["advisory", "publish", tracking_id, "--as", analyst])
    assert refused.exit_code == 2 and "may not publish advisory" in refused.output
    r = runner.invoke(app, ["advisory", "publish", tracking_id, "--as", coordinator])
    assert r.exit_code == 0, r.output
    assert f"Published {tracking_id} (revision 1)." in r.output
    listed = runner.invoke(app, ["advisory", "list", "--status", "published"])
    assert tracking_id in listed.output and "critical" in listed.output

    no_reason = runner.invoke(app, ["advisory", "withdraw", tracking_id, "--as", coordinator])
    assert no_reason.exit_code != 0  # --reason is required
    r = runner.invoke(
        app,
        ["advisory", "withdraw", tracking_id, "--as", coordinator, "--reason", "Wrong product"],
    )
    assert r.exit_code == 0, r.output
    with sessions() as s:
        row = s.scalar(select(Advisory).where(Advisory.tracking_id == tracking_id))
        assert row is not None and row.status == "withdrawn"
        assert row.withdrawn_reason == "Wrong product"
    bad = runner.invoke(app, ["advisory", "list", "--status", "lost"])
    assert bad.exit_code == 2 and "--status" in bad.output
    missing = runner.invoke(app, ["advisory", "publish", "NOPE-1", "--as", coordinator])
    assert missing.exit_code == 2 and "no advisory NOPE-1" in missing.output
    missing_file = str(tmp_path / "x.json")
    unreadable = runner.invoke(app, ["advisory", "draft", missing_file, "--as", analyst])
    assert unreadable.exit_code == 2 and "cannot read" in unreadable.output
