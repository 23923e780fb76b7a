"""Bad files end a job "failed" with its reason at the first attempt (never retried, never
"dead"), `minga ingest` exits 2 with a sentence and no traceback, and a bad CSV row is reported
while the rest of the file imports."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from minga.cli import app
from minga.ingest import jobs
from minga.ingest.csvfeed import CsvMapping
from minga.ingest.pipeline import Options, Upload
from minga.intel.models import objects
from tests.conftest import Member, add_member
from tests.factories import indicator, malware, sid

runner = CliRunner()


def bundle(*objs: object, version: str | None = None) -> bytes:
    body: dict = {"type": "bundle", "id": sid("bundle", 0), "objects": list(objs)}
    if version:
        body["spec_version"] = version
    return orjson.dumps(body)


def deep(levels: int) -> bytes:
    return bundle({**malware(1), "x": "HERE"}).replace(b'"HERE"', b"[" * levels + b"]" * levels)


def stix20(**extra: object) -> dict:
    obj = {k: v for k, v in malware(3).items() if k not in ("spec_version", "is_family")}
    return {**obj, "labels": ["trojan"], **extra}


BAD_FILES: dict[str, bytes] = {
    "year-0000.json": bundle(indicator(1, created="0000-01-01T00:00:00Z")),
    "feb-30.json": bundle(indicator(1, created="2024-02-30T00:00:00Z")),
    "empty-pattern.json": bundle(indicator(1, pattern="")),
    "sco-modified.json": bundle(
        {"type": "ipv4-addr", "id": sid("ipv4-addr", 1), "value": "1.2.3.4", "modified": 7}
    ),
    "id-object.json": bundle(malware(1, id={})),
    "type-list.json": bundle(malware(1, type=["malware"])),
    "type-list-2.0.json": bundle(stix20(type=["malware"]), version="2.0"),
    "id-object-2.0.json": bundle(
        {"type": "observed-data", "id": {}, "objects": {"0": {"type": "ipv4-addr"}}},
        version="2.0",
    ),
    "refs-of-lists-2.0.json": bundle(
        {
            "type": "observed-data",
            "id": sid("observed-data", 1),
            "objects": {"0": {"type": "x", "x_refs": [[1]]}},
        },
        version="2.0",
    ),
    "nested-300.json": deep(300),
    "nested-900-2.0.json": bundle(stix20(x="HERE"), version="2.0").replace(
        b'"HERE"', b"[" * 900 + b"]" * 900
    ),
    "non-rfc-id.json": bundle(malware(1, id="malware--00000000-0000-0000-0000-000000000001")),
    "misp-tag-number.json": orjson.dumps({"Event": {"info": "x", "uuid": "u", "Tag": 5}}),
    "misp-nested-lists.json": b"[" * 500 + b"]" * 500,
}


@pytest.fixture
def member(db_url: str, sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch) -> Member:
    monkeypatch.setenv("MINGA_DATABASE_URL", db_url)
    return add_member(sessions, "CSIRT CR")


def _stored(sessions: sessionmaker[Session]) -> int:
    with sessions() as s:
        return int(s.scalar(select(func.count()).select_from(objects)) or 0)


def test_bad_files_fail_once_with_their_reason(member: Member, sessions: sessionmaker[Session]):
    before = _stored(sessions)
    for name, data in BAD_FILES.items():
        with sessions() as s:
            job = jobs.enqueue(s, member.principal, Upload(data, name), Options())
            s.commit()
        done = jobs.run_job(sessions, job.id, backoff=0)
        assert (done.status, done.attempts) == ("failed", 1), (name, done.error)
        assert done.error and "Error:" not in done.error, (name, done.error)  # a sentence
    assert _stored(sessions) == before


def test_minga_ingest_of_bad_files_exits_2_with_sentences(member: Member, tmp_path: Path):
    for name, data in BAD_FILES.items():
        (tmp_path / name).write_bytes(data)
    r = runner.invoke(app, ["ingest", str(tmp_path), "--user", "csirt-cr-analyst"])
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output
    said = r.output.replace("\n", " ")
    for name in BAD_FILES:
        assert f"error: {name}: " in r.output, name
    assert "is not a real date and time" in said
    assert "RFC 4122" in said
    assert "more than 100 levels deep" in said
    assert "the pattern is empty" in said


def test_a_bad_csv_row_is_reported_and_the_rest_imports(
    member: Member, sessions: sessionmaker[Session]
):
    text = (
        "date,ip\n"
        "2024-05-02,203.0.113.9\n"
        "0000-01-01,203.0.113.10\n"  # no year 0
        "0999-12-31,203.0.113.11\n"  # a real (if odd) date: a four-digit STIX year
        "0001-01-01T00:00:00+05:00,203.0.113.12\n"  # before year 1 in UTC
        "2024-02-30,203.0.113.13\n"
        "2024-05-03,203.0.113.14\n"
    )
    with sessions() as s:
        mapping = CsvMapping.parse([], "csirtamericas")
        job = jobs.enqueue(
            s, member.principal, Upload(text.encode(), "CR.csv"), Options(csv=mapping)
        )
        s.commit()
    done = jobs.run_job(sessions, job.id, backoff=0)
    assert done.status == "done", done.error
    assert done.result is not None
    assert (done.result["rows"], done.result["created"]) == (6, 3)
    assert [r["line"] for r in done.result["rejected"]] == [3, 5, 6]
    assert all("is not a date or time" in r["problem"] for r in done.result["rejected"])
    with sessions() as s:
        valid = s.scalars(select(objects.c.raw).where(objects.c.type == "indicator")).all()
    assert "0999-12-31T00:00:00.000Z" in {orjson.loads(v)["valid_from"] for v in valid}
