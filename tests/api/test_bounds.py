"""Ids in paths, queries and JSON bodies are bounded and typed: a malformed or out-of-range id is
a 422 with a message naming the parameter, never a 5xx, on both backends."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from minga.app import create_app
from minga.settings import Settings
from tests.conftest import add_member
from tests.factories import indicator

# Out of range for a 32-bit INTEGER column (and for SQLite's 64-bit one), or not a number at all.
BAD_IDS: list[Any] = [0, -1, 2**31, 2**63, 10**30, "abc"]
# In a JSON body an id must be a JSON number: no strings, fractions or booleans either.
BAD_BODY_IDS: list[Any] = [*BAD_IDS, "1", 1.5, True, None]

PATHS = [
    ("GET", "/api/organisations/{}", None, "org_id"),
    ("POST", "/api/users/{}/disable", None, "user_id"),
    ("POST", "/api/users/{}/enable", None, "user_id"),
    ("PUT", "/api/groups/{}/members", {"member_org_ids": []}, "group_id"),
    ("GET", "/api/ingest/jobs/{}", None, "job_id"),
    ("GET", "/api/drafts/{}", None, "draft_id"),
    ("POST", "/api/drafts/{}/publish", {}, "draft_id"),
    ("POST", "/api/drafts/{}/discard", None, "draft_id"),
]

QUERIES = [
    ("GET", "/api/objects?owner={}", None, "owner"),
    ("GET", "/api/users?org_id={}", None, "org_id"),
    ("GET", "/api/tokens?user_id={}", None, "user_id"),
    ("POST", "/api/objects?group={}", indicator(1), "group"),
    ("POST", "/api/objects/bulk?group=1&group={}", [indicator(1)], "group"),
]


def _assert_refused(response: Any, name: str) -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    body = response.json()
    assert body["error"] == "invalid"
    assert name in body["message"], body["message"]


@pytest.mark.parametrize(("method", "url", "body", "name"), PATHS + QUERIES)
def test_bad_id_in_path_or_query_is_a_422(
    client: TestClient,
    sessions: sessionmaker[Session],
    method: str,
    url: str,
    body: Any,
    name: str,
):
    admin = add_member(sessions, "Node Operator", role="admin")
    for value in BAD_IDS:
        r = client.request(method, url.format(value), json=body, headers=admin.headers)
        _assert_refused(r, name)
        assert r.status_code == 422


def test_audit_offset_beyond_any_row_is_refused(
    client: TestClient, sessions: sessionmaker[Session]
):
    admin = add_member(sessions, "Node Operator", role="admin")
    for value in (-1, 2**31, 2**63, 10**30, "abc"):
        _assert_refused(client.get(f"/api/audit?offset={value}", headers=admin.headers), "offset")
    assert client.get("/api/audit?offset=2147483647", headers=admin.headers).json() == []


@pytest.mark.parametrize(
    ("url", "build", "name"),
    [
        ("/api/users", lambda v: {"org_id": v, "name": "ana", "role": "analyst"}, "org_id"),
        ("/api/tokens", lambda v: {"user_id": v}, "user_id"),
        ("/api/groups", lambda v: {"name": "g", "member_org_ids": [v]}, "member_org_ids"),
    ],
    ids=["users", "tokens", "groups"],
)
def test_bad_id_in_a_json_body_is_a_422(
    client: TestClient, sessions: sessionmaker[Session], url: str, build: Any, name: str
):
    admin = add_member(sessions, "Node Operator", role="admin")
    for value in BAD_BODY_IDS:
        if value is None and name != "member_org_ids":
            continue  # null means "not given" for these fields
        r = client.post(url, json=build(value), headers=admin.headers)
        _assert_refused(r, name)
        assert r.status_code == 422


def test_group_members_and_draft_groups_in_a_body_are_typed(
    client: TestClient, sessions: sessionmaker[Session]
):
    admin = add_member(sessions, "Node Operator", role="admin")
    group = client.post("/api/groups", json={"name": "g"}, headers=admin.headers)
    assert group.status_code == 201, group.text
    members_url = f"/api/groups/{group.json()['id']}/members"
    for value in BAD_BODY_IDS:
        r = client.put(members_url, json={"member_org_ids": [value]}, headers=admin.headers)
        _assert_refused(r, "member_org_ids")
        r = client.post("/api/drafts/1/publish", json={"groups": [value]}, headers=admin.headers)
        _assert_refused(r, "groups")


def test_token_for_user_id_as_a_string_is_refused_and_as_a_number_works(
    client: TestClient, sessions: sessionmaker[Session]
):
    admin = add_member(sessions, "Node Operator", role="admin")
    r = client.post("/api/tokens", json={"user_id": str(admin.user_id)}, headers=admin.headers)
    _assert_refused(r, "user_id")
    r = client.post("/api/tokens", json={"user_id": admin.user_id}, headers=admin.headers)
    assert r.status_code == 201, r.text
    assert r.json()["user_id"] == admin.user_id


def test_the_largest_valid_id_is_a_plain_404(client: TestClient, sessions: sessionmaker[Session]):
    admin = add_member(sessions, "Node Operator", role="admin")
    for url in ("/api/organisations/2147483647", "/api/ingest/jobs/2147483647"):
        r = client.get(url, headers=admin.headers)
        assert r.status_code == 404, r.text
        assert r.json()["message"]
    r = client.get("/api/objects?owner=2147483647", headers=admin.headers)
    assert r.status_code == 200
    assert r.json()["objects"] == []


@pytest.mark.parametrize(
    ("method", "url", "allow"),
    [
        ("DELETE", "/api/objects", "GET, POST"),
        ("PATCH", "/api/organisations/1", "GET"),
        ("GET", "/api/users/1/disable", "POST"),
        ("PUT", "/api/tokens", "GET, POST"),
        ("PUT", "/taxii2/api/collections/all/objects/", "GET, POST"),
        ("POST", "/api/health", "GET"),
    ],
)
def test_a_405_names_every_method_the_path_takes(
    client: TestClient, method: str, url: str, allow: str
):
    r = client.request(method, url)
    assert r.status_code == 405
    assert r.headers["allow"] == allow
    body = r.json()
    assert body.get("message") or body.get("description")


def test_token_answers_carry_a_time_zone(client: TestClient, sessions: sessionmaker[Session]):
    admin = add_member(sessions, "Node Operator", role="admin")
    issued = client.post("/api/tokens", json={"expires_days": 1}, headers=admin.headers).json()
    listed = client.get("/api/tokens", headers=admin.headers).json()
    revoked = client.delete(f"/api/tokens/{issued['public_id']}", headers=admin.headers).json()
    stamps = [issued["created_at"], issued["expires_at"], revoked["revoked_at"]]
    stamps += [t["created_at"] for t in listed]
    for stamp in stamps:
        assert datetime.fromisoformat(stamp).utcoffset() == timedelta(0), stamp


def test_every_operation_documents_its_errors(client: TestClient):
    spec = client.get("/openapi.json").json()
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            codes = set(operation["responses"])
            assert {"401", "403", "404", "503"} <= codes, (method, path)
            assert ("400" if path.startswith("/taxii2/") else "422") in codes, (method, path)
    ids = spec["paths"]["/api/organisations/{org_id}"]["get"]["parameters"][0]["schema"]
    assert (ids["minimum"], ids["maximum"]) == (1, 2**31 - 1)
    assert {"200", "201"} <= set(spec["paths"]["/api/objects"]["post"]["responses"])
    assert {"201", "202"} <= set(spec["paths"]["/api/ingest"]["post"]["responses"])


def test_bulk_groups_out_of_range_in_the_json_body(
    client: TestClient, sessions: sessionmaker[Session]
):
    admin = add_member(sessions, "Node Operator", role="admin")
    for value in (2**31, 2**63):
        body = {"objects": [indicator(1)], "groups": [value]}
        _assert_refused(client.post("/api/objects/bulk", json=body, headers=admin.headers), "")


def test_ingest_group_out_of_range_in_a_form_field(
    client: TestClient, sessions: sessionmaker[Session]
):
    admin = add_member(sessions, "Node Operator", role="admin")
    bundle = b'{"type": "bundle", "id": "bundle--1", "objects": []}'
    r = client.post(
        "/api/ingest",
        data={"group": str(10**30), "format": "stix"},
        files={"file": ("b.json", bundle, "application/json")},
        headers=admin.headers,
    )
    _assert_refused(r, "group")


def test_ingest_group_out_of_range_in_the_query_is_a_422(
    client: TestClient, sessions: sessionmaker[Session]
):
    admin = add_member(sessions, "Node Operator", role="admin")
    bundle = b'{"type": "bundle", "id": "bundle--1", "objects": []}'
    for value in BAD_IDS:
        r = client.post(f"/api/ingest?group={value}", content=bundle, headers=admin.headers)
        _assert_refused(r, "group")


def _cursor(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


# Cursors that decode but hold numbers no row can have (the cursor and `next` have other owners).
HUGE_CURSORS = [f"d:{2**63}:1", f"d:1:{2**63}", f"a:{10**30}:{10**30}"]


def test_rest_cursor_with_huge_numbers_is_refused(
    client: TestClient, sessions: sessionmaker[Session]
):
    member = add_member(sessions, "Org A")
    for raw in HUGE_CURSORS:
        r = client.get(f"/api/objects?cursor={_cursor(raw)}", headers=member.headers)
        _assert_refused(r, "cursor")


def test_taxii_next_with_huge_numbers_is_refused(
    client: TestClient, sessions: sessionmaker[Session]
):
    member = add_member(sessions, "Org A")
    for raw in HUGE_CURSORS:
        url = f"/taxii2/api/collections/all/objects/?next={_cursor(raw)}"
        r = client.get(url, headers=member.headers)
        assert 400 <= r.status_code < 500, (raw, r.status_code, r.text)


def test_an_unexpected_error_is_a_json_500_that_goes_no_further(settings: Settings):
    """The error stays inside the app (the test client would re-raise it otherwise), so uvicorn
    keeps the connection open for the client's next request."""
    app = create_app(settings)

    @app.get("/api/boom", include_in_schema=False)
    def boom() -> None:
        raise RuntimeError("a bug")

    with TestClient(app) as client:
        r = client.get("/api/boom")
        assert r.status_code == 500
        assert r.json() == {"error": "internal", "message": "the node hit an unexpected error"}
        assert client.get("/api/health").status_code == 200
