"""`minga taxii feed list` and `minga token list` read well on an 80-column terminal."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from minga import cli as main_cli
from minga.cli import app
from minga.db import make_engine, make_sessionmaker
from minga.taxii import cli as taxii_cli
from minga.taxii import puller
from tests.conftest import add_member

runner = CliRunner()


def test_feed_and_token_lists_fit_80_columns(
    sqlite_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    path = tmp_path / "n.db"
    shutil.copy(sqlite_template, path)
    monkeypatch.setenv("MINGA_DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setattr(taxii_cli, "out", Console())  # made under COLUMNS=80, as in a terminal
    monkeypatch.setattr(main_cli, "out", Console())
    engine = make_engine(f"sqlite:///{path}")
    sessions = make_sessionmaker(engine)
    member = add_member(sessions, "CSIRT CR")
    with sessions() as s:
        feed = puller.add_feed(
            s,
            name="CSIRTAmericas nightly",
            url="https://taxii.csirtamericas.example.org/api/v21/root-of-the-collections/",
            collection="indicadores-de-compromiso-diarios",
            user_id=member.user_id,
            interval_seconds=3600,
        )
        feed.last_result = "412 objects in 3 pages: 400 new, 12 already here, 0 skipped"
        s.commit()
    engine.dispose()
    r = runner.invoke(app, ["taxii", "feed", "list"])
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert max(len(line) for line in lines) <= 80, r.output
    flat = "".join(line.strip("│ ") for line in lines)
    assert "CSIRTAmericas nightly" in r.output and "3600 s" in r.output
    assert "indicadores-de-compromiso-diarios" in flat.replace("│", "").replace(" ", "")
    words = r.output.replace("│", " ").split()
    assert words[words.index("412") :][:5] == ["412", "objects", "in", "3", "pages:"]

    r = runner.invoke(app, ["token", "list"])
    assert r.exit_code == 0, r.output
    assert "csirt-cr-analyst" in r.output  # the user's name, not its id
    assert max(len(line) for line in r.output.splitlines()) <= 80
