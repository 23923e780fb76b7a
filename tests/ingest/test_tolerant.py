"""Tolerant import of feeds and bundles from outside: every valid object is stored, each refused
one is reported with its reason, known quirks are repaired with a note; --strict / strict=true
keep all or nothing. On both backends."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from minga.cli import app
from minga.ingest.pipeline import Batch, Upload, normalise
from minga.intel import service
from minga.intel.models import objects
from minga.intel.quirks import repair
from tests.conftest import Member, add_member
from tests.factories import indicator, malware, sid
from tests.ingest.harness import context, run_stage
from tests.ingest.test_runner import submit

MITRE = "identity--c78cb6e5-0c4b-4611-8297-d1b8b55e40b5"
# As ATT&CK v18 ships it: data sources were retired, the reference left empty.
COMPONENT = {
    "type": "x-mitre-data-component",
    "spec_version": "2.1",
    "id": "x-mitre-data-component--3d20385b-24ef-40e1-9f56-f39750379077",
    "created": "2021-10-20T15:05:19.272Z",
    "modified": "2025-11-12T22:03:39.105Z",
    "created_by_ref": MITRE,
    "name": "Process Creation",
    "x_mitre_data_source_ref": "",
    "x_mitre_deprecated": False,
}
BAD = indicator(2, pattern="[ipv4-addr:value = ")


def bundle(*objs: dict) -> bytes:
    return orjson.dumps({"type": "bundle", "id": sid("bundle", 0), "objects": list(objs)})


def test_repair_drops_only_empty_custom_references():
    fixed, notes = repair(COMPONENT)
    assert "x_mitre_data_source_ref" not in fixed and "x_mitre_data_source_ref" in COMPONENT
    assert notes == ["dropped the empty custom reference x_mitre_data_source_ref"]
    fixed, notes = repair({**malware(1), "x_seen_refs": ["", sid("malware", 2)]})
    assert (fixed["x_seen_refs"], len(notes)) == ([sid("malware", 2)], 1)
    standard = {**malware(1), "created_by_ref": ""}
    assert repair(standard) == (standard, [])  # a real error stays one


def test_normalise_tolerant_keeps_the_valid_and_notes_the_rest():
    ctx = context()
    ctx.options = type(ctx.options)(strict=False)
    (out,) = run_stage(normalise, Batch([indicator(1), BAD, COMPONENT], "f.json", True), ctx)
    assert [o["id"] for o in out.objects] == [indicator(1)["id"], COMPONENT["id"]]
    assert "x_mitre_data_source_ref" not in out.objects[1]
    assert ctx.notes["refused_count"] == 1
    (refused,) = ctx.notes["refused"]
    assert (refused["index"], refused["id"], refused["source"]) == (1, BAD["id"], "f.json")
    assert refused["problems"][0].startswith("pattern is not a valid STIX pattern")
    assert ctx.notes["repaired"][0]["id"] == COMPONENT["id"]


def test_tolerant_job_stores_the_valid_and_lists_the_refused(sessions: sessionmaker[Session]):
    a = add_member(sessions, "Org A")
    data = bundle(indicator(1), BAD, COMPONENT)
    strict = submit(sessions, a, Upload(data, "attack.json"))
    assert (strict.status, strict.error) == ("failed", "1 of 3 objects in attack.json are invalid")
    job = submit(sessions, a, Upload(data, "attack.json"), strict=False)
    assert job.status == "done" and job.result is not None
    assert (job.result["created"], job.result["refused_count"]) == (2, 1)
    assert job.result["refused"][0]["id"] == BAD["id"]
    assert job.result["repaired"][0]["notes"] == [
        "dropped the empty custom reference x_mitre_data_source_ref"
    ]
    with sessions() as s:
        got = service.get_object(s, a.principal, COMPONENT["id"]).object()
        assert got["name"] == "Process Creation" and "x_mitre_data_source_ref" not in got
    again = submit(sessions, a, Upload(data, "attack.json"), strict=False)
    assert again.result is not None
    assert (again.result["created"], again.result["existing"]) == (0, 2)


def test_store_refusals_are_reported_not_fatal(sessions: sessionmaker[Session]):
    a, b = add_member(sessions, "Org A"), add_member(sessions, "Org B")
    with sessions() as s:  # Org B owns this id: Org A's newer version may not join it
        service.create_objects(s, b.principal, [malware(5)], enforce_creator=False)
        s.commit()
    newer = malware(5, modified="2024-04-01T00:00:00.000Z")
    job = submit(sessions, a, Upload(bundle(indicator(1), newer), "f.json"), strict=False)
    assert job.result is not None and job.result["created"] == 1
    assert job.result["refused"] == [
        {
            "id": newer["id"],
            "problems": ["only the organisation that created it may version it"],
            "source": "f.json",
        }
    ]


def test_a_newer_release_adds_versions_and_revokes_nothing_silently(
    sessions: sessionmaker[Session],
):
    a = add_member(sessions, "Org A")
    first = [malware(1, name="A"), malware(2, name="B"), malware(3, name="C")]
    submit(sessions, a, Upload(bundle(*first), "r1.json"), strict=False)
    later = "2024-06-01T00:00:00.000Z"
    changed = malware(1, name="A2", modified=later)
    revoked = malware(2, name="B", modified=later, revoked=True)
    job = submit(sessions, a, Upload(bundle(changed, revoked), "r2.json"), strict=False)
    assert job.result is not None
    assert (job.result["created"], job.result["revoked_by_source_count"]) == (2, 1)
    assert job.result["revoked_by_source"][0]["id"] == revoked["id"]
    with sessions() as s:
        latest = dict(
            s.execute(select(objects.c.stix_id, objects.c.revoked).where(objects.c.is_latest)).all()
        )
        assert service.get_object(s, a.principal, changed["id"]).object()["name"] == "A2"
    # Left out of the newer release: kept as it was, not revoked.
    assert latest[malware(3)["id"]] is False


runner = CliRunner()


@pytest.fixture
def member(db_url: str, sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch) -> Member:
    monkeypatch.setenv("MINGA_DATABASE_URL", db_url)
    return add_member(sessions, "CSIRT CR")


def test_cli_lists_each_refused_object_and_strict_refuses_the_file(member: Member, tmp_path: Path):
    path = tmp_path / "feed.json"
    path.write_bytes(bundle(indicator(1), BAD, COMPONENT))
    r = runner.invoke(app, ["ingest", str(path), "--user", "csirt-cr-analyst"])
    assert r.exit_code == 1, r.output
    said = " ".join(r.output.split())
    assert "│ partial │" in said and "1 objects refused" in said and "repaired" in said
    assert "warning: some objects were refused" in said
    assert f"refused: feed.json: {BAD['id']}: pattern is not a valid STIX pattern" in said
    r = runner.invoke(app, ["ingest", str(path), "--user", "csirt-cr-analyst", "--strict"])
    assert r.exit_code == 2, r.output
    assert "1 of 3 objects in feed.json are invalid" in " ".join(r.output.split())


def test_rest_strict_false_stores_the_valid(client: TestClient, sessions: sessionmaker[Session]):
    a = add_member(sessions, "Org A")
    data = bundle(indicator(1), BAD)
    r = client.post("/api/ingest?filename=f.json", content=data, headers=a.headers)
    assert r.status_code == 422
    r = client.post("/api/ingest?filename=f.json&strict=false", content=data, headers=a.headers)
    assert r.status_code == 201, r.text
    result = r.json()["result"]
    assert (result["created"], result["refused_count"], result["refused"][0]["id"]) == (
        1, 1, BAD["id"],
    )  # fmt: skip
