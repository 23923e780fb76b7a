"""`minga export FORMAT [filters] > file` and `minga feed-token`, as an operator types them."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from minga.cli import app
from minga.policy import Tlp
from tests.correlate.consumers import nft_check
from tests.correlate.stored import Community, community, publish

runner = CliRunner()
FEED_TOKEN = re.compile(r"mf_[0-9a-f]{12}_[A-Za-z0-9_-]+")


def store(sessions: sessionmaker[Session]) -> Community:
    c = community(sessions)
    with sessions() as s:
        publish(s, c.gt, 1, "[ipv4-addr:value = '45.77.12.34' OR ipv4-addr:value = '45.77.0.0/16']")
        publish(s, c.gt, 2, "[domain-name:value = 'evil-update.net']", tlp=Tlp.GREEN)
        publish(s, c.gt, 3, "[ipv4-addr:value = '45.77.99.1']", tlp=Tlp.RED)
        s.commit()
    return c


def minga(
    db_url: str, *args: str, stdout: object = subprocess.PIPE
) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "MINGA_DATABASE_URL": db_url}
    return subprocess.run(
        [sys.executable, "-c", "from minga.cli import main; main()", *args],
        stdout=stdout,  # type: ignore[arg-type]
        stderr=subprocess.PIPE,
        env=env,
        timeout=300,
        check=False,
    )


def test_export_to_a_file_is_what_nft_reads(
    db_url: str, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    store(sessions)
    path = tmp_path / "feed.nft"
    with path.open("wb") as target:
        done = minga(db_url, "export", "nft", "--user", "bank-hn-analyst", stdout=target)
    assert done.returncode == 0, done.stderr
    text = path.read_text()
    assert "45.77.12.34" in text and "45.77.0.0/16" in text and "45.77.99.1" not in text
    assert nft_check(path).returncode == 0


def test_export_filters_and_bad_words(db_url: str, sessions: sessionmaker[Session]) -> None:
    store(sessions)
    done = minga(
        db_url, "export", "txt", "--user", "csirt-gt-analyst", "--type", "ipv4", "--tlp", "red"
    )
    assert done.stdout.decode().splitlines() == ["45.77.12.34", "45.77.99.1"]
    bad = minga(db_url, "export", "pdf")
    assert bad.returncode == 2 and b"unknown export format" in bad.stderr
    assert b"Traceback" not in bad.stderr
    bad = minga(db_url, "export", "txt", "--tlp", "purple")
    assert bad.returncode == 2 and b"unknown TLP" in bad.stderr


@pytest.fixture
def env(db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("MINGA_DATABASE_URL", db_url)
    return db_url


def test_feed_token_commands(env: str, sessions: sessionmaker[Session], client: TestClient):
    store(sessions)
    issued = runner.invoke(app, ["feed-token", "issue", "bank-hn-analyst", "--name", "pfsense"])
    assert issued.exit_code == 0, issued.output
    token = FEED_TOKEN.findall(issued.output)[0]
    assert "/feeds/txt?token=" in issued.output
    assert client.get(f"/feeds/txt?token={token}").text.splitlines() == [
        "45.77.12.34",
        "45.77.0.0/16",
        "evil-update.net",
    ]
    listed = runner.invoke(app, ["feed-token", "list"])
    assert listed.output.split("\t")[1:3] == ["pfsense", "bank-hn-analyst"]
    public_id = token.split("_")[1]
    assert runner.invoke(app, ["feed-token", "revoke", public_id]).exit_code == 0
    assert client.get(f"/feeds/txt?token={token}").status_code == 401
    unknown = runner.invoke(app, ["feed-token", "revoke", "000000000000"])
    assert unknown.exit_code == 2 and "no feed token" in unknown.output
