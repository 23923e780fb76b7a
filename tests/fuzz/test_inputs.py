"""Inputs that once answered 500 (issue: bad input): each is now a 4xx with a sentence, on REST
and TAXII, on both backends, and nothing of the refused request is stored."""

from __future__ import annotations

import base64
import sqlite3
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session, sessionmaker

from minga.app import create_app
from minga.db import make_engine
from minga.intel.models import objects
from minga.settings import Settings
from minga.taxii.models import DEFAULT_COLLECTION_ID
from tests.conftest import Member, add_member
from tests.factories import indicator, malware

TAXII = "application/taxii+json;version=2.1"
OBJECTS = f"/taxii2/api/collections/{DEFAULT_COLLECTION_ID}/objects/"
NON_RFC = "malware--00000000-0000-0000-0000-000000000004"  # variant bits 00: not RFC 4122


def _deep(obj: dict[str, Any], levels: int) -> bytes:
    return orjson.dumps({**obj, "x_deep": "HERE"}).replace(b'"HERE"', b"[" * levels + b"]" * levels)


BAD_OBJECTS: dict[str, bytes] = {
    "year 0000": orjson.dumps(indicator(1, created="0000-01-01T00:00:00Z", modified=None)),
    "february 30": orjson.dumps(indicator(2, created="2024-02-30T00:00:00Z")),
    "hour 24": orjson.dumps(indicator(3, modified="2024-03-01T24:00:00Z")),
    "impossible valid_from": orjson.dumps(indicator(4, valid_from="2023-02-29T00:00:00Z")),
    "observable modified": orjson.dumps(
        {
            "type": "ipv4-addr",
            "id": "ipv4-addr--6d8a7c1e-1d2b-4c3a-9e8f-0a1b2c3d4e5f",
            "value": "198.51.100.1",
            "modified": "yesterday",
        }
    ),
    "marking modified": orjson.dumps(
        {
            "type": "marking-definition",
            "spec_version": "2.1",
            "id": "marking-definition--6d8a7c1e-1d2b-4c3a-9e8f-0a1b2c3d4e5f",
            "created": "2024-01-01T00:00:00Z",
            "modified": 17,
            "definition_type": "statement",
            "definition": {"statement": "x"},
        }
    ),
    "empty pattern": orjson.dumps(indicator(5, pattern="")),
    "1,000 ORs": orjson.dumps(indicator(6, pattern=" OR ".join(["[a:b = 'c']"] * 1000))),
    "nested 255": _deep(malware(7), 255),
    "nested 1000": _deep(malware(8), 1000),
    "id is an object": orjson.dumps(malware(9, id={})),
    "type is a list": orjson.dumps(malware(10, type=["malware"])),
    "non-RFC 4122 id": orjson.dumps(malware(11, id=NON_RFC)),
    "non-RFC 4122 reference": orjson.dumps(
        malware(12, created_by_ref="identity--00000000-0000-0000-c000-000000000001")
    ),
}


def _count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(objects)) or 0)


@pytest.fixture
def member(sessions: sessionmaker[Session]) -> Member:
    return add_member(sessions, "Org A")


def test_bad_objects_are_refused_with_a_sentence(
    client: TestClient, member: Member, session: Session
):
    before = _count(session)
    taxii = {**member.headers, "Accept": TAXII, "Content-Type": TAXII}
    for case, body in BAD_OBJECTS.items():
        r = client.post("/api/objects", content=body, headers=member.headers)
        assert r.status_code == 422, (case, r.text)
        assert r.json()["error"] == "invalid"
        problems = r.json()["details"][0]["problems"]
        assert problems and all(isinstance(p, str) and p for p in problems), case
        r = client.post(OBJECTS, content=b'{"objects":[' + body + b"]}", headers=taxii)
        assert r.status_code in (202, 400), (case, r.text)
        if r.status_code == 202:  # TAXII reports refused objects in the status resource
            assert (r.json()["success_count"], r.json()["failure_count"]) == (0, 1), case
        else:
            assert r.json()["description"], case
    session.rollback()
    assert _count(session) == before


def test_the_problems_name_the_cause(client: TestClient, member: Member):
    said = {}
    for case in ("february 30", "non-RFC 4122 id", "nested 255", "empty pattern"):
        r = client.post("/api/objects", content=BAD_OBJECTS[case], headers=member.headers)
        said[case] = " ".join(r.json()["details"][0]["problems"])
    assert "'2024-02-30T00:00:00Z' is not a real date and time" in said["february 30"]
    assert "RFC 4122" in said["non-RFC 4122 id"]
    assert "nested more than 100 levels deep" in said["nested 255"]
    assert "the pattern is empty" in said["empty pattern"]


def test_a_deeply_nested_taxii_body_is_a_400_before_it_is_read(client: TestClient, member: Member):
    taxii = {**member.headers, "Accept": TAXII, "Content-Type": TAXII}
    for levels in (255, 1000, 1100):
        body = b'{"objects":[' + b"[" * levels + b"]" * levels + b"]}"
        r = client.post(OBJECTS, content=body, headers=taxii)
        assert r.status_code == 400, r.text
        assert "levels deep" in r.json()["description"] or "depth" in r.json()["description"]


def test_a_bulk_body_with_a_non_string_tlp_or_reach_is_refused(client: TestClient, member: Member):
    for key, value in [("tlp", 5), ("tlp", ["amber"]), ("reach", {"x": 1}), ("reach", True)]:
        body = {"objects": [malware(1)], key: value}
        r = client.post("/api/objects/bulk", json=body, headers=member.headers)
        assert r.status_code == 422, r.text
        assert r.json()["message"] == f"{key} must be a name such as 'amber' or 'community'"


QUERIES = [
    "limit=١٠",
    "limit=²",
    "limit=" + "9" * 5000,
    "next=" + base64.urlsafe_b64encode(b"a:99999999999999999999999:1").decode(),
    "next=" + base64.urlsafe_b64encode(b"d:1:99999999999999999999").decode(),
    "next=%25%25",
]


def test_taxii_limit_and_next_never_500(client: TestClient, member: Member):
    for query in QUERIES:
        r = client.get(f"{OBJECTS}?{query}", headers={**member.headers, "Accept": TAXII})
        assert r.status_code == (200 if query.startswith("limit=9") else 400), r.text
        assert r.headers["content-type"] == TAXII


def test_a_rest_cursor_out_of_range_is_a_4xx(client: TestClient, member: Member):
    cursor = base64.urlsafe_b64encode(b"a:99999999999999999999999:1").decode()
    r = client.get(f"/api/objects?cursor={cursor}", headers=member.headers)
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "invalid"


def test_taxii_post_on_a_locked_sqlite_database_is_503_with_retry_after(
    member: Member, settings: Settings, db_url: str
):
    if not db_url.startswith("sqlite"):
        pytest.skip("a database-wide write lock is SQLite's")
    engine = make_engine(db_url)
    # Give up on the lock at once instead of after the node's 10 s busy timeout.
    event.listen(engine, "connect", lambda conn, _: conn.execute("PRAGMA busy_timeout=0"))
    holder = sqlite3.connect(db_url.split("///", 1)[1], timeout=0)
    taxii = {**member.headers, "Accept": TAXII, "Content-Type": TAXII}
    try:
        with TestClient(create_app(settings, engine=engine)) as client:
            client.get(OBJECTS, headers=taxii)  # sign-in and reads work while locked
            holder.execute("BEGIN IMMEDIATE")  # another writer holds SQLite's one write lock
            r = client.post(OBJECTS, content=orjson.dumps({"objects": [malware(1)]}), headers=taxii)
            rest = client.post("/api/objects", json=malware(2), headers=member.headers)
    finally:
        holder.rollback()
        holder.close()
        engine.dispose()
    assert r.status_code == 503, r.text
    assert (r.headers["retry-after"], r.headers["content-type"]) == ("1", TAXII)
    assert r.json()["http_status"] == "503"
    assert (rest.status_code, rest.headers["retry-after"]) == (503, "1")  # as REST answers
