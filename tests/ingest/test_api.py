"""REST: POST /api/ingest (multipart and raw), jobs, drafts; size limit and bad input."""

from __future__ import annotations

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from minga.app import create_app
from minga.ingest import jobs
from minga.ingest.pipeline import Options, Upload
from minga.intel import service
from minga.settings import Settings
from tests.conftest import add_member
from tests.factories import indicator, sid
from tests.ingest.test_drafts import REPORT_ES
from tests.ingest.test_misp_csv_stages import CSIRTAMERICAS
from tests.ingest.test_runner import wait_until_done


def bundle(*objs: dict) -> bytes:
    return orjson.dumps({"type": "bundle", "id": sid("bundle", 0), "objects": list(objs)})


def test_multipart_stix_upload(client: TestClient, sessions: sessionmaker[Session]):
    a = add_member(sessions, "Org A")
    files = {"file": ("feed.json", bundle(indicator(1)), "application/json")}
    r = client.post("/api/ingest", files=files, data={"tlp": "green"}, headers=a.headers)
    assert r.status_code == 201, r.text
    job = r.json()
    assert (job["status"], job["source"], job["result"]) == (
        "done", "feed.json", {"batches": 1, "created": 1, "existing": 0, "format": "stix"},
    )  # fmt: skip
    got = client.get(f"/api/objects/{indicator(1)['id']}", headers=a.headers).json()
    assert (got["meta"]["tlp"], got["meta"]["source"]) == ("green", "feed.json")
    assert client.get(f"/api/ingest/jobs/{job['id']}", headers=a.headers).json() == job
    assert [j["id"] for j in client.get("/api/ingest/jobs", headers=a.headers).json()] == [
        job["id"]
    ]


def test_raw_csv_body_with_preset(client: TestClient, sessions: sessionmaker[Session]):
    a = add_member(sessions, "Org A")
    r = client.post(
        "/api/ingest?format=csv&csv_preset=csirtamericas&filename=CR.csv&reach=federation",
        content=CSIRTAMERICAS.encode(),
        headers=a.headers,
    )
    assert r.status_code == 201, r.text
    result = r.json()["result"]
    assert (result["created"], [x["line"] for x in result["rejected"]]) == (4, [5, 6, 7])


def test_bad_input_is_a_422_with_the_job(client: TestClient, sessions: sessionmaker[Session]):
    a = add_member(sessions, "Org A")
    r = client.post("/api/ingest?filename=x.json", content=b'{"type": "bundle",', headers=a.headers)
    assert r.status_code == 422
    body = r.json()
    assert body["error"] == "invalid"
    assert body["message"].startswith("the file is not valid JSON")
    assert body["details"]["job"]["status"] == "failed"
    r = client.post("/api/ingest?format=xml", content=b"x", headers=a.headers)
    assert (
        r.json()["message"] == "unknown format 'xml': use auto, stix, misp, misp-feed, csv, report"
    )
    r = client.post("/api/ingest", content=b"", headers=a.headers)
    assert (r.status_code, r.json()["message"]) == (422, "nothing to import: upload is empty")
    r = client.post("/api/ingest?tlp=purple", content=b"x", headers=a.headers)
    assert r.status_code == 422
    r = client.post("/api/ingest", files={"other": ("a", b"x")}, headers=a.headers)
    assert r.json()["message"] == "send the file in a multipart field named 'file'"


def test_upload_over_the_limit_is_413(client: TestClient, sessions: sessionmaker[Session]):
    a = add_member(sessions, "Org A")
    big = b"x" * (jobs.MAX_BYTES + 1)
    r = client.post("/api/ingest", content=big, headers=a.headers)
    assert r.status_code == 413
    assert r.json() == {
        "error": "http",
        "message": f"the upload is larger than the {jobs.MAX_BYTES} byte limit",
    }


def test_limit_holds_while_streaming_without_length(
    client: TestClient, sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
):
    a = add_member(sessions, "Org A")
    monkeypatch.setattr(client.app.state.node.settings, "ingest_max_bytes", 1000)  # type: ignore[attr-defined]

    def chunks():
        for _ in range(100):
            yield b"y" * 100

    r = client.post("/api/ingest", content=chunks(), headers=a.headers)
    assert (r.status_code, r.json()["message"]) == (
        413,
        "the upload is larger than the 1000 byte limit",
    )
    files = {"file": ("big.txt", b"z" * 1001, "text/plain")}
    r = client.post("/api/ingest", files=files, headers=a.headers)
    assert r.status_code == 413


def test_report_upload_then_review_and_publish(client: TestClient, sessions: sessionmaker[Session]):
    a, b = add_member(sessions, "Org A"), add_member(sessions, "Org B")
    files = {"file": ("conti.md", REPORT_ES.encode(), "text/markdown")}
    r = client.post("/api/ingest", files=files, headers=a.headers)
    assert r.status_code == 201, r.text
    draft_id = r.json()["result"]["draft_id"]
    assert r.json()["result"]["draft_items"] == 6
    listed = client.get("/api/drafts", headers=a.headers).json()
    assert [(d["id"], d["status"], d["item_count"]) for d in listed] == [(draft_id, "draft", 6)]
    draft = client.get(f"/api/drafts/{draft_id}", headers=a.headers).json()
    assert draft["limits"] == []  # the whole report was read
    assert [i["value"] for i in draft["items"] if i["selected"]][:2] == [
        "45.153.160.2",
        "pagos-hacienda.com",
    ]
    assert client.get(f"/api/drafts/{draft_id}", headers=b.headers).status_code == 404
    assert (
        client.post(f"/api/drafts/{draft_id}/publish", json={}, headers=b.headers).status_code
        == 404
    )
    r = client.post(
        f"/api/drafts/{draft_id}/publish", json={"selected": [1], "tlp": "green"}, headers=a.headers
    )
    assert r.status_code == 201, r.text
    report_id = r.json()["report_id"]
    assert [c["id"].split("--")[0] for c in r.json()["created"]] == ["report", "indicator"]
    got = client.get(f"/api/objects/{report_id}", headers=b.headers).json()
    assert (got["meta"]["tlp"], got["object"]["name"]) == ("green", draft["name"])
    r = client.post(f"/api/drafts/{draft_id}/discard", headers=a.headers)
    assert r.status_code == 409


def test_discard_and_queued_upload(client: TestClient, sessions: sessionmaker[Session]):
    a = add_member(sessions, "Org A")
    r = client.post(
        "/api/ingest?filename=r.txt", content=b"C2 at evil-domain.net", headers=a.headers
    )
    draft_id = r.json()["result"]["draft_id"]
    assert client.post(f"/api/drafts/{draft_id}/discard", headers=a.headers).status_code == 204
    assert client.get(f"/api/drafts/{draft_id}", headers=a.headers).status_code == 404
    r = client.post("/api/ingest?wait=false&filename=f.json", content=bundle(indicator(3)),
                    headers=a.headers)  # fmt: skip
    assert (r.status_code, r.json()["status"]) == (202, "queued")
    # The test client runs background tasks before it returns.
    job = client.get(f"/api/ingest/jobs/{r.json()['id']}", headers=a.headers).json()
    assert (job["status"], job["result"]["created"]) == ("done", 1)


def test_ingest_needs_a_token(client: TestClient):
    assert client.post("/api/ingest", content=b"x").status_code == 401


def test_the_serving_node_runs_jobs_left_in_the_queue(
    settings: Settings, engine: Engine, sessions: sessionmaker[Session]
):
    """An upload whose background run was lost (a restart) runs while the node serves."""
    a = add_member(sessions, "Org A")
    with sessions() as s:
        job = jobs.enqueue(s, a.principal, Upload(bundle(indicator(7)), "lost.json"), Options())
        s.commit()
    app = create_app(settings.model_copy(update={"ingest_worker_seconds": 1}), engine=engine)
    with TestClient(app):
        wait_until_done(sessions, a, job.id)
    with sessions() as s:
        assert service.get_object(s, a.principal, indicator(7)["id"]).source == "lost.json"
