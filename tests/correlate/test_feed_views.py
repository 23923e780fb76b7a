"""REST export and polled feed URLs: tokens, conditional requests, refusals."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from minga.correlate.feed_models import FeedToken
from minga.intel import service
from minga.policy import Tlp
from tests.correlate.consumers import named_checkzone
from tests.correlate.stored import Community, community, publish


def store(sessions: sessionmaker[Session]) -> Community:
    c = community(sessions)
    with sessions() as s:
        publish(s, c.gt, 1, "[ipv4-addr:value = '45.77.12.34']")
        publish(s, c.gt, 2, "[domain-name:value = 'evil-update.net']", tlp=Tlp.GREEN)
        publish(s, c.gt, 3, "[ipv4-addr:value = '45.77.99.1']", tlp=Tlp.RED)
        s.commit()
    return c


def test_rest_export_streams_what_the_caller_may_see(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    c = store(sessions)
    r = client.get("/api/export/txt", headers=c.hn.headers)
    assert r.status_code == 200
    assert r.text.splitlines() == ["45.77.12.34", "evil-update.net"]
    assert r.headers["content-disposition"] == 'attachment; filename="minga-txt.txt"'
    r = client.get("/api/export/csv?type=domain&tlp=green", headers=c.hn.headers)
    table = list(csv.DictReader(io.StringIO(r.text)))
    assert [(t["value"], t["organisation"], t["country"]) for t in table] == [
        ("evil-update.net", "CSIRT-GT", "GT")
    ]
    owner = client.get("/api/export/txt?type=ipv4", headers=c.gt.headers)
    assert owner.text.splitlines() == ["45.77.12.34", "45.77.99.1"]


def test_rest_export_refusals(client: TestClient, sessions: sessionmaker[Session]) -> None:
    c = store(sessions)
    assert client.get("/api/export/txt").status_code == 401
    bad = client.get("/api/export/pdf", headers=c.hn.headers)
    assert bad.status_code == 422 and "unknown export format" in bad.json()["message"]
    for query in ("type=ipv5", "tlp=purple", "min_score=200", "since=yesterday"):
        r = client.get(f"/api/export/txt?{query}", headers=c.hn.headers)
        assert r.status_code == 422, query
        assert r.json()["message"]


def test_feed_url_with_a_feed_token(
    client: TestClient, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    c = store(sessions)
    made = client.post(
        "/api/feed-tokens",
        json={"name": "edge firewall", "format": "rpz", "query": {"tlp": "amber"}},
        headers=c.hn.headers,
    )
    assert made.status_code == 201, made.text
    token, url = made.json()["token"], made.json()["url"]
    assert token.startswith("mf_") and url.endswith(f"/feeds/rpz?tlp=amber&token={token}")
    path = url.split("://", 1)[1].split("/", 1)[1]
    first = client.get("/" + path)
    assert first.status_code == 200
    zone = tmp_path / "feed.rpz"
    zone.write_bytes(first.content)
    assert named_checkzone("rpz.minga", zone).returncode == 0
    assert "evil-update.net CNAME ." in first.text and "45.77.99.1" not in first.text
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    # A poller that has this version downloads nothing.
    again = client.get("/" + path, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert client.get("/" + path, headers={"If-Modified-Since": modified}).status_code == 304
    # The token is stored hashed, and its use recorded.
    with sessions() as s:
        row = s.scalars(select(FeedToken)).one()
        assert token not in row.secret_hash and row.last_used_at is not None
    # A change gives a new version.
    with sessions() as s:
        publish(s, c.gt, 4, "[domain-name:value = 'second-stage.org']")
        s.commit()
    changed = client.get("/" + path, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and "second-stage.org CNAME ." in changed.text
    assert changed.headers["etag"] != etag


def test_a_feed_token_reads_feeds_only_and_is_revocable(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    c = store(sessions)
    made = client.post("/api/feed-tokens", json={"name": "dns"}, headers=c.hn.headers).json()
    bearer = {"Authorization": f"Bearer {made['token']}"}
    assert client.get("/feeds/txt", headers=bearer).status_code == 200
    assert client.head("/feeds/txt", headers=bearer).status_code == 200
    assert client.get("/api/objects", headers=bearer).status_code == 401
    assert client.get("/api/export/txt", headers=bearer).status_code == 401
    listed = client.get("/api/feed-tokens", headers=c.hn.headers).json()
    assert [t["name"] for t in listed] == ["dns"]
    assert client.get("/api/feed-tokens", headers=c.gt.headers).json() == []
    other = client.delete(f"/api/feed-tokens/{made['public_id']}", headers=c.gt.headers)
    assert other.status_code == 404
    gone = client.delete(f"/api/feed-tokens/{made['public_id']}", headers=c.hn.headers)
    assert gone.status_code == 204
    refused = client.get("/feeds/txt", headers=bearer)
    assert refused.status_code == 401 and "revoked" in refused.json()["message"]
    assert client.get("/feeds/txt?token=mf_nonsense").status_code == 401


def test_an_api_token_also_polls(client: TestClient, sessions: sessionmaker[Session]) -> None:
    c = store(sessions)
    by_header = client.get("/feeds/nft", headers=c.hn.headers)
    by_url = client.get(f"/feeds/nft?token={c.hn.token}")
    assert by_header.status_code == by_url.status_code == 200
    assert by_header.content == by_url.content
    assert "45.77.12.34" in by_url.text and "45.77.99.1" not in by_url.text


def test_a_revocation_changes_the_feed(client: TestClient, sessions: sessionmaker[Session]):
    c = store(sessions)
    first = client.get("/feeds/txt", headers=c.hn.headers)
    with sessions() as s:
        service.revoke(s, c.gt.principal, "indicator--00000000-0000-4000-8000-000000000001")
        s.commit()
    second = client.get(
        "/feeds/txt", headers={**c.hn.headers, "If-None-Match": first.headers["etag"]}
    )
    assert second.status_code == 200 and "45.77.12.34" not in second.text
