"""Every command keeps the README's exit-code table (minga/ops/exits.py) and says what went
wrong in one sentence: no traceback, no pydantic dump.

Each command runs with each failure: the database down, a malformed MINGA_DATABASE_URL,
bad usage; `serve` also on a port that is taken."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from minga.cli import app
from minga.ops import exits

runner = CliRunner()
DOWN = "postgresql://nobody@127.0.0.1:1/none"  # nothing listens on port 1
MALFORMED = "mysql://somewhere/db"
PG_ARCHIVE = b"PGDMP\x01\x0e\x00"


def commands(tmp: Path) -> dict[str, list[str]]:
    report = tmp / "report.md"
    report.write_text("# Informe\n\nEl servidor 45.153.160.2 descargó el malware.\n")
    archive = tmp / "node.dump"
    archive.write_bytes(PG_ARCHIVE)
    return {
        "init": ["init"],
        "demo-data": ["demo-data"],
        "org list": ["org", "list"],
        "org create": ["org", "create", "X", "--country", "CR", "--sector", "government"],
        "user list": ["user", "list"],
        "token list": ["token", "list"],
        "group list": ["group", "list"],
        "invite list": ["invite", "list"],
        "ingest": ["ingest", str(report)],
        "ingest drafts": ["ingest", "drafts"],
        "ingest-worker": ["ingest-worker", "--once"],
        "taxii feed list": ["taxii", "feed", "list"],
        "taxii run-due": ["taxii", "run-due"],
        "taxii pull": [
            "taxii",
            "pull",
            "http://127.0.0.1:1/taxii2/",
            "--collection",
            "all",
            "--user",
            "ana",
        ],
        "node show": ["node", "show"],
        "peer list": ["peer", "list"],
        "knowledge status": ["knowledge", "status"],
        "backup": ["backup", str(tmp / "out.dump")],
        "restore": ["restore", str(archive)],
        "serve": ["serve", "--port", str(_free_port())],
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run(args: list[str], url: str) -> tuple[int, str]:
    r = runner.invoke(app, args, env={"MINGA_DATABASE_URL": url, "MINGA_HOST": "127.0.0.1"})
    if r.exception is not None and not isinstance(r.exception, SystemExit):
        raise AssertionError(f"{args} raised {r.exception!r}: {r.output}")
    said = r.output
    for leak in ("Traceback", "validation error", "errors.pydantic.dev", "For further info"):
        assert leak not in said, f"{args}: {said}"
    return r.exit_code, " ".join(said.split())


@pytest.fixture
def tmp(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path


def test_database_down_is_unavailable_everywhere(tmp: Path):
    for name, args in commands(tmp).items():
        code, said = _run(args, DOWN)
        assert code == exits.UNAVAILABLE, f"{name}: {code} {said}"
        assert "cannot use the database postgresql+psycopg://nobody@127.0.0.1:1/none" in said
    code, said = _run(["check"], DOWN)  # the doctor reports it and fails
    assert code == exits.FAILED and "fail database cannot reach" in said


def test_malformed_database_url_is_usage(tmp: Path):
    for name, args in [*commands(tmp).items(), ("check", ["check"])]:
        code, said = _run(args, MALFORMED)
        assert code == exits.USAGE, f"{name}: {code} {said}"
        assert "MINGA_DATABASE_URL must be a sqlite:/// or postgresql:// URL" in said, name


def test_bad_usage_is_usage(tmp: Path):
    for name, args in [*commands(tmp).items(), ("check", ["check"])]:
        code, said = _run([*args, "--no-such-option"], DOWN)
        assert code == exits.USAGE, f"{name}: {code} {said}"
        assert "No such option" in said, name


def test_a_taken_port_is_unavailable(tmp: Path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, said = _run(["serve", "--port", str(port)], f"sqlite:///{tmp / 'n.db'}")
    assert code == exits.UNAVAILABLE
    assert f"cannot serve on 127.0.0.1:{port}" in said and "is another node running" in said
