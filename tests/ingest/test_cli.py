"""`minga ingest`: files, directories, MISP feeds over HTTP, CSV, reports and drafts."""

from __future__ import annotations

import copy
import http.server
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import orjson
import pytest
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from minga.cli import app
from minga.ingest import drafts, jobs
from minga.intel import service
from tests.conftest import Member, add_member
from tests.factories import indicator, sid
from tests.ingest.test_drafts import REPORT_ES
from tests.ingest.test_misp_csv_stages import CSIRTAMERICAS, EVENT

runner = CliRunner()


@pytest.fixture
def member(db_url: str, sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch) -> Member:
    monkeypatch.setenv("MINGA_DATABASE_URL", db_url)
    return add_member(sessions, "CSIRT CR")


def user(m: Member) -> list[str]:
    return ["--user", "csirt-cr-analyst"]


def ingest(*args: str):
    return runner.invoke(app, ["ingest", *args])


def feed(root: Path) -> Path:
    """A MISP feed directory: manifest.json and one file per event."""
    root.mkdir()
    manifest = {}
    for n in (1, 2):
        event = copy.deepcopy(EVENT)
        uid = f"5e1d0b3a-{n:04d}-4a2b-9c3d-0a0b0c0d0e01"
        event["Event"]["uuid"] = uid
        event["Event"]["info"] = f"Event {n}"
        for k, attribute in enumerate(event["Event"]["Attribute"]):
            attribute["uuid"] = f"5e1d0b3a-{n:04d}-4a2b-9c3d-0a0b0c0d0f{k:02d}"
        (root / f"{uid}.json").write_bytes(orjson.dumps(event))
        manifest[uid] = {"info": f"Event {n}", "timestamp": "1706788800"}
    (root / "manifest.json").write_bytes(orjson.dumps(manifest))
    return root


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    """A static HTTP server on 127.0.0.1 serving a MISP feed under /feed/."""
    feed(tmp_path / "feed")
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.log_message = lambda *a: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_ingest_a_stix_file(member: Member, tmp_path: Path, sessions: sessionmaker[Session]):
    path = tmp_path / "feed.json"
    path.write_bytes(
        orjson.dumps({"type": "bundle", "id": sid("bundle", 0), "objects": [indicator(1)]})
    )
    r = ingest(str(path), *user(member), "--tlp", "green")
    assert r.exit_code == 0, r.output
    assert "done" in r.output
    with sessions() as s:
        got = service.get_object(s, member.principal, indicator(1)["id"])
        assert (got.tlp.value, got.source) == ("green", "feed.json")


def test_bad_input_exits_2_with_a_sentence(member: Member, tmp_path: Path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"type": "bundle",')
    r = ingest(str(bad), *user(member))
    assert r.exit_code == 2
    assert "the file is not valid JSON" in r.output
    assert "some sources were not imported" in r.output
    r = ingest(str(tmp_path / "missing.csv"), *user(member))
    assert (r.exit_code, "no such file or directory" in r.output) == (2, True)
    r = ingest(str(bad), *user(member), "--format", "xml")
    assert (r.exit_code, "unknown format 'xml'" in r.output) == (2, True)
    r = ingest(str(bad), "--user", "nobody")
    assert r.exit_code == 2


def test_file_over_the_limit(member: Member, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from minga.ingest import sources

    monkeypatch.setattr(sources, "MAX_BYTES", 10)
    big = tmp_path / "big.txt"
    big.write_bytes(b"x" * 11)
    r = ingest(str(big), *user(member))
    assert r.exit_code == 2
    assert "more than the 10 byte limit" in r.output


def test_misp_feed_directory(member: Member, tmp_path: Path, sessions: sessionmaker[Session]):
    r = ingest(str(feed(tmp_path / "feed")), *user(member))
    assert r.exit_code == 0, r.output
    with sessions() as s:
        states = [(j.kind, j.status) for j in jobs.list_jobs(s, member.principal)]
    assert states == [("misp", "done"), ("misp", "done")]


def test_misp_feed_over_http(member: Member, served: str, sessions: sessionmaker[Session]):
    r = ingest(f"{served}/feed/manifest.json", *user(member))
    assert r.exit_code == 0, r.output
    with sessions() as s:
        found = jobs.list_jobs(s, member.principal)
        assert [j.status for j in found] == ["done", "done"]
        assert found[0].source.startswith(f"{served}/feed/5e1d0b3a-0002")
    r = ingest(f"{served}/nothing.json", *user(member))
    assert (r.exit_code, "answered HTTP 404" in r.output) == (2, True)


def test_csv_with_preset_lists_rejected_lines(member: Member, tmp_path: Path):
    path = tmp_path / "CR.csv"
    path.write_text(CSIRTAMERICAS)
    r = ingest(str(path), *user(member), "--csv-preset", "csirtamericas")
    assert r.exit_code == 0, r.output
    assert "3 rows rejected" in r.output.replace("\n", " ")


def test_report_becomes_a_draft_then_is_published(
    member: Member, tmp_path: Path, sessions: sessionmaker[Session]
):
    path = tmp_path / "conti.md"
    path.write_text(REPORT_ES)
    r = ingest(str(path), *user(member))
    assert r.exit_code == 0, r.output
    with sessions() as s:
        (draft,) = drafts.list_drafts(s, member.principal)
    assert f"draft {draft.id}" in r.output
    r = ingest("drafts", *user(member))
    assert (r.exit_code, "Campaña Conti" in r.output) == (0, True)
    r = ingest("publish", str(draft.id), "--select", "1,2", *user(member))
    assert r.exit_code == 0, r.output
    assert "with 3 objects" in r.output
    r = ingest("publish", str(draft.id), *user(member))
    assert (r.exit_code, "already published" in r.output) == (2, True)
    r = ingest("discard", "x", *user(member))
    assert (r.exit_code, "minga ingest discard DRAFT_ID" in r.output) == (2, True)


def test_misp_attribute_left_out_is_said(member: Member, tmp_path: Path):
    event = copy.deepcopy(EVENT)
    event["Event"]["Attribute"].append(
        {"uuid": "5e1d0b3a-5555-4a2b-9c3d-0a0b0c0d0e05", "type": "ip-dst", "value": "not-an-ip",
         "category": "Network activity", "timestamp": "1706788800", "to_ids": True}
    )  # fmt: skip
    path = tmp_path / "event.json"
    path.write_bytes(orjson.dumps(event))
    r = ingest(str(path), *user(member))
    assert r.exit_code == 0, r.output
    said = " ".join(r.output.replace("│", " ").split())
    assert "misp-stix reported 1 problem(s):" in said
    assert "not-an-ip - IP address has an invalid format." in said


def test_report_cut_by_a_limit_says_so(
    member: Member, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from minga.ingest import report

    monkeypatch.setattr(report, "MAX_TEXT_CHARS", 100)
    path = tmp_path / "long.txt"
    path.write_text("C2 45.153.160.2\n" + "filler " * 100)
    r = ingest(str(path), *user(member))
    assert r.exit_code == 0, r.output
    said = " ".join(r.output.replace("│", " ").split())  # the table wraps long notes
    assert "with 1 items to review" in said
    assert "Indicators were looked for in the first 100 of 716 characters." in said


def test_worker_runs_queued_jobs(member: Member, sessions: sessionmaker[Session]):
    from minga.ingest.pipeline import Options, Upload

    with sessions() as s:
        jobs.enqueue(s, member.principal, Upload(orjson.dumps(indicator(5)), "q.json"), Options())
        s.commit()
    r = runner.invoke(app, ["ingest-worker", "--once"])
    assert (r.exit_code, "1 ingest jobs run." in r.output) == (0, True)


def test_drafts_without_user_act_as_the_author_and_number_items_from_one(
    member: Member, tmp_path: Path, sessions: sessionmaker[Session]
):
    path = tmp_path / "conti.md"
    path.write_text(REPORT_ES)
    assert ingest(str(path), *user(member)).exit_code == 0
    with sessions() as s:
        (draft,) = drafts.list_drafts(s, member.principal)
    listed = ingest("drafts")  # no --user, no admin on this node: every draft, with its author
    assert listed.exit_code == 0, listed.output
    assert "csirt-cr-analyst" in listed.output and "Campaña Conti" in listed.output
    shown = ingest("drafts", str(draft.id))
    assert shown.exit_code == 0, shown.output
    rows = {
        cells[0]: cells
        for line in shown.output.splitlines()
        if len(cells := [c.strip() for c in line.split("│")[1:-1]]) == 5
    }
    benign = next(i for i in draft.items if i.value == "microsoft.com")
    assert rows[str(benign.index + 1)][2:] == [
        benign.type,
        "microsoft.com",
        "warning list",
    ]
    assert "0" not in rows and str(len(draft.items)) in rows  # numbered 1..n
    r = ingest("publish", str(draft.id), "--select", "0")
    assert r.exit_code == 2 and f"numbered 1 to {len(draft.items)}" in r.output
    r = ingest("publish", str(draft.id), "--select", f"1,{benign.index + 1}")
    assert r.exit_code == 0, r.output
    said = " ".join(r.output.split())
    assert "as csirt-cr-analyst" in said and "with 3 objects" in said
    assert f"item {benign.index + 1} 'microsoft.com' is on a warning list" in said
