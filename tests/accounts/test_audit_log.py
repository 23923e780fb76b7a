"""`GET /api/audit` answers each entry's time in UTC with its time zone, on every backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import add_member


def test_audit_entries_say_their_time_zone(client: TestClient, sessions: sessionmaker[Session]):
    before = datetime.now(UTC).replace(microsecond=0)
    admin = add_member(sessions, "Org A", role="admin")
    r = client.post(
        "/api/groups",
        json={"name": "Response cell", "member_org_ids": []},
        headers=admin.headers,
    )
    assert r.status_code == 201, r.text
    after = datetime.now(UTC) + timedelta(seconds=1)
    entries = client.get("/api/audit?limit=1000", headers=admin.headers).json()
    assert "group.create" in [e["action"] for e in entries]
    for entry in entries:
        at = datetime.fromisoformat(entry["at"])
        assert at.utcoffset() == timedelta(0), entry["at"]
        assert before <= at <= after  # the moment it was written, not shifted by a zone
