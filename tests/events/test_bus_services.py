"""The bus tests need the real NATS server: with MINGA_REQUIRE_SERVICES=1 (CI) its absence is
a failure, not a skip."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from minga.cli import app
from minga.ops import exits
from tests.events.conftest import nats_problem

ROOT = Path(__file__).resolve().parents[2]


def test_the_server_is_reachable(nats_url: str) -> None:
    assert nats_problem(nats_url) is None


def test_a_missing_server_fails_when_services_are_required() -> None:
    closed = "nats://127.0.0.1:9"  # the discard port: nothing answers NATS there
    assert nats_problem(closed) is not None
    env = {**os.environ, "MINGA_TEST_NATS_URL": closed, "MINGA_REQUIRE_SERVICES": "1"}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
         f"{Path(__file__).relative_to(ROOT)}::test_the_server_is_reachable"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 1, run.stdout
    assert "NATS is required (MINGA_REQUIRE_SERVICES=1)" in run.stdout
    assert "1 error" in run.stdout


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_worker_says_when_nats_cannot_be_reached(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MINGA_DATABASE_URL", db_url)
    monkeypatch.setenv("MINGA_EVENT_BUS", "nats://127.0.0.1:9")
    result = CliRunner().invoke(app, ["worker"])
    assert result.exit_code == exits.UNAVAILABLE
    assert "NATS at nats://127.0.0.1:9 cannot be reached" in result.output
    assert "Traceback" not in result.output
