"""`minga taxii pull` against a real served node: a wrong token, a server that is down and a
wrong collection name each get their own sentence and exit code (README, "Exit codes"); a
failed one-off pull leaves no feed behind; `--user` is honoured when the feed exists."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from rich.console import Console
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from minga.cli import app as cli_app
from minga.db import make_engine, make_sessionmaker
from minga.taxii import cli as taxii_cli
from minga.taxii.models import Feed
from tests.conftest import add_member
from tests.factories import indicator
from tests.intel.served import free_port
from tests.taxii.conftest import post_envelope


@pytest.fixture
def local(
    sqlite_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> sessionmaker[Session]:
    path = tmp_path / "local.db"
    shutil.copy(sqlite_template, path)
    monkeypatch.setenv("MINGA_DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.setattr(taxii_cli, "out", Console(width=400))
    return make_sessionmaker(make_engine(f"sqlite:///{path}"))


def _feeds(local: sessionmaker[Session]) -> list[Feed]:
    with local() as s:
        return list(s.scalars(select(Feed)))


def test_each_failure_has_its_sentence_and_code(
    live: str, client: TestClient, sessions: sessionmaker[Session], local: sessionmaker[Session]
):
    remote = add_member(sessions, "Remote A")
    post_envelope(client, remote.token, [indicator(n) for n in range(1, 4)])
    add_member(local, "Local L")
    runner = CliRunner()

    def pull(
        url: str, collection: str, token: str, user: str = "local-l-analyst", *more: str
    ) -> tuple[int, str]:
        args = ["taxii", "pull", url, "--collection", collection, "--user", user, *more]
        r = runner.invoke(cli_app, [*args, "--token", token])
        return r.exit_code, " ".join(r.output.split())

    code, said = pull(f"{live}/taxii2/", "all", "mgt_wrong.token")
    assert code == 4 and "refused the credentials (401 Unauthorized)" in said
    assert "Traceback" not in said
    code, said = pull(f"http://127.0.0.1:{free_port()}/taxii2/", "all", remote.token)
    assert code == 3 and "cannot reach the TAXII server" in said and "is it running" in said
    code, said = pull(f"{live}/taxii2/", "no-such", remote.token)
    assert code == 2 and "no collection 'no-such'" in said and "it offers 'all'" in said
    assert _feeds(local) == []  # none of the failed one-off pulls was saved as a feed

    code, said = pull(f"{live}/taxii2/", "all", remote.token)
    assert code == 0 and "4 new" in said, said  # 3 indicators and their identity
    (feed,) = _feeds(local)
    add_member(local, "Local R", role="reader")
    code, said = pull(f"{live}/taxii2/", "all", remote.token, "local-r-reader", "--from-start")
    assert code == 2 and "'local-r-reader' may not publish" in said, said  # the user given
    code, said = pull(f"{live}/taxii2/", "all", "mgt_wrong.token")
    assert code == 4 and [f.id for f in _feeds(local)] == [feed.id]  # a saved feed stays
