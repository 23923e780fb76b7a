"""A poller holding the current feed gets 304 without the feed being produced again, and a
fresh feed as soon as anything that shapes it changes: a deletion, an expiry, a warninglist."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import insert
from sqlalchemy.orm import Session, sessionmaker

from minga.correlate import feed_views
from minga.correlate.models import warninglist_entries, warninglists
from minga.intel import service
from tests.correlate.stored import Community, community, publish
from tests.factories import sid


def store(sessions: sessionmaker[Session]) -> Community:
    c = community(sessions)
    with sessions() as s:
        publish(s, c.gt, 1, "[ipv4-addr:value = '45.77.12.34']")
        publish(s, c.gt, 2, "[domain-name:value = 'evil-update.net']")
        s.commit()
    return c


def poll(client: TestClient, c: Community, etag: str | None = None):  # type: ignore[no-untyped-def]
    headers = dict(c.hn.headers)
    if etag:
        headers["If-None-Match"] = etag
    return client.get("/feeds/txt", headers=headers)


def test_a_current_poller_is_answered_from_the_fingerprint(
    client: TestClient, sessions: sessionmaker[Session], monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    c = store(sessions)
    first = poll(client, c)
    produced: list[object] = []
    real = feed_views.spool
    monkeypatch.setattr(feed_views, "spool", lambda *a, **k: produced.append(a) or real(*a, **k))
    again = poll(client, c, first.headers["etag"])
    assert again.status_code == 304 and produced == []  # nothing produced
    assert poll(client, c).status_code == 200 and len(produced) == 1  # no ETag: the body


def test_a_deletion_is_a_new_feed(client: TestClient, sessions: sessionmaker[Session]) -> None:
    c = store(sessions)
    first = poll(client, c)
    with sessions() as s:  # the older indicator: the newest position stays the same
        service.delete_objects(s, c.gt.principal, sid("indicator", 1))
        s.commit()
    after = poll(client, c, first.headers["etag"])
    assert after.status_code == 200 and after.text == "evil-update.net\n"


def test_an_expiry_is_a_new_feed(client: TestClient, sessions: sessionmaker[Session]) -> None:
    c = store(sessions)
    soon = datetime.now(UTC) + timedelta(seconds=2)
    with sessions() as s:
        publish(
            s,
            c.gt,
            3,
            "[ipv4-addr:value = '45.77.50.50']",
            valid_until=soon.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        )
        s.commit()
    first = poll(client, c)
    assert "45.77.50.50" in first.text
    assert poll(client, c, first.headers["etag"]).status_code == 304
    time.sleep(max(0.0, (soon - datetime.now(UTC)).total_seconds()) + 0.2)
    after = poll(client, c, first.headers["etag"])
    assert after.status_code == 200 and "45.77.50.50" not in after.text


def test_an_imported_warninglist_is_a_new_feed(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    c = store(sessions)
    first = poll(client, c)
    with sessions() as s:
        listed = s.execute(
            insert(warninglists)
            .values(name="CDN", list_type="string", matching="[]", imported_at=datetime.now(UTC))
            .returning(warninglists.c.id)
        ).scalar_one()
        s.execute(insert(warninglist_entries).values(list_id=listed, value="evil-update.net"))
        s.commit()
    after = poll(client, c, first.headers["etag"])
    assert after.status_code == 200 and after.text == "45.77.12.34\n"
