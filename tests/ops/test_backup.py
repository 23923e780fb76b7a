"""`minga backup` / `minga restore` round trip on both backends: every table comes back
row for row; a database holding data is only replaced with --force; kinds never mix."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from minga.cli import app
from minga.db import make_engine
from minga.ops.check import database_revision, head_revision
from tests.ops.conftest import every_row

runner = CliRunner()


def _minga(url: str, *args: str) -> tuple[int, str]:
    r = runner.invoke(app, list(args), env={"MINGA_DATABASE_URL": url})
    return r.exit_code, " ".join(r.output.split())


def test_round_trip_keeps_every_table(db_url: str, other_url: str, tmp_path: Path):
    assert _minga(db_url, "init", "--org", "CSIRT-CR")[0] == 0
    code, said = _minga(db_url, "demo-data")
    assert code == 0, said
    saved = tmp_path / "node.backup"
    code, said = _minga(db_url, "backup", str(saved))
    assert code == 0 and "Backed up" in said, said
    assert saved.stat().st_size > 0
    code, said = _minga(other_url, "restore", str(saved))
    assert code == 0 and f"schema is at {head_revision()}" in said, said

    source, copy = make_engine(db_url), make_engine(other_url)
    try:
        before, after = every_row(source), every_row(copy)
        assert set(before) == set(after)
        assert {t: len(r) for t, r in before.items() if r}.keys() >= {"stix_objects", "users"}
        for table in before:
            assert after[table] == before[table], table
        assert database_revision(copy) == head_revision()
    finally:
        source.dispose()
        copy.dispose()

    code, said = _minga(other_url, "restore", str(saved))  # it holds data now
    assert code == 2 and "run again with --force" in said
    code, said = _minga(other_url, "restore", str(saved), "--force")
    assert code == 0, said


@pytest.mark.parametrize("content", [b"not a backup", b""])
def test_restore_refuses_what_is_not_a_backup(db_url: str, tmp_path: Path, content: bytes):
    bad = tmp_path / "bad.backup"
    bad.write_bytes(content)
    code, said = _minga(db_url, "restore", str(bad))
    assert code == 2 and "neither a SQLite database nor a pg_dump custom archive" in said
    code, said = _minga(db_url, "restore", str(tmp_path / "missing"))
    assert code == 2 and "no backup file" in said
    code, said = _minga(db_url, "backup", str(tmp_path / "no" / "dir" / "x"))
    assert code == 2 and "does not exist" in said


def test_a_backup_of_one_kind_is_not_restored_into_the_other(
    db_url: str, tmp_path: Path, sqlite_template: Path
):
    other = "postgresql" if db_url.startswith("sqlite") else "sqlite"
    saved = tmp_path / "x.backup"
    assert _minga(db_url, "backup", str(saved))[0] == 0
    if other == "sqlite":
        code, said = _minga(f"sqlite:///{tmp_path / 'y.db'}", "restore", str(saved))
        assert code == 2 and "is a postgresql backup" in said
    else:
        assert saved.read_bytes().startswith(b"SQLite format 3")
