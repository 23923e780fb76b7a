"""Pulling from a remote TAXII server: two nodes, resumable cursors, provenance, bad remotes."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from fastapi.testclient import TestClient
from rich.console import Console
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from minga.cli import app as cli_app
from minga.db import make_engine, make_sessionmaker
from minga.intel.models import objects
from minga.settings import Settings
from minga.taxii import cli as taxii_cli
from minga.taxii import puller
from minga.taxii.client import RemoteError
from minga.taxii.models import DEFAULT_COLLECTION_ID, Feed
from tests.conftest import Member, add_member
from tests.factories import indicator
from tests.taxii.conftest import TAXII, post_envelope


@pytest.fixture
def local(sqlite_template: Path, tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    """The pulling node: its own SQLite database."""
    path = tmp_path / "local.db"
    shutil.copy(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    yield make_sessionmaker(engine)
    engine.dispose()


@pytest.fixture
def remote_org(client: TestClient, sessions: sessionmaker[Session]) -> Member:
    a = add_member(sessions, "Remote A")
    post_envelope(client, a.token, [indicator(n) for n in range(1, 8)])
    return a


def _feed(local: sessionmaker[Session], url: str, importer: Member, **extra: Any) -> int:
    with local() as s:
        feed = puller.add_feed(
            s,
            name="remote",
            url=url,
            collection="all",
            user_id=importer.user_id,
            token_env="REMOTE_TOKEN",
            **extra,
        )
        s.commit()
        return feed.id


def _stored(local: sessionmaker[Session]) -> list[Any]:
    with local() as s:
        stmt = select(objects).where(objects.c.type == "indicator").order_by(objects.c.added_us)
        return list(s.execute(stmt))


def test_pull_imports_with_provenance_and_resumes(
    live: str,
    client: TestClient,
    remote_org: Member,
    local: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.setenv("REMOTE_TOKEN", remote_org.token)
    importer = add_member(local, "Local L")
    feed_id = _feed(local, f"{live}/taxii2/", importer)

    first = puller.pull_feed(local, feed_id, limit=3)
    assert (first.pages, first.received, first.stored, first.skipped) == (3, 8, 8, 0)
    rows = _stored(local)
    assert [r.stix_id for r in rows] == [indicator(n)["id"] for n in range(1, 8)]
    source = f"{live}/taxii2/api/collections/{DEFAULT_COLLECTION_ID}/"
    assert {(r.source, r.origin_node, r.hop_count, r.owner_org_id) for r in rows} == {
        (source, live.removeprefix("http://"), 1, importer.org_id)
    }
    # The third-party creator is kept, not replaced by the importer's identity.
    assert {orjson.loads(r.raw)["created_by_ref"] for r in rows} == {
        remote_org.principal.identity_ref
    }
    with local() as s:
        feed = s.get(Feed, feed_id)
        assert feed is not None
        assert feed.added_after == first.cursor
        assert feed.last_result == first.summary()

    post_envelope(client, remote_org.token, [indicator(8), indicator(9)])
    second = puller.pull_feed(local, feed_id, limit=3)
    assert (second.received, second.stored) == (2, 2)
    again = puller.pull_feed(local, feed_id, from_start=True)
    assert (again.received, again.stored, again.existing) == (10, 0, 10)


def test_an_interrupted_pull_resumes_after_the_last_stored_page(
    live: str, remote_org: Member, local: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("REMOTE_TOKEN", remote_org.token)
    importer = add_member(local, "Local L")
    feed_id = _feed(local, f"{live}/taxii2/api/", importer)

    def stop_after_first(result: puller.PullResult) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        puller.pull_feed(local, feed_id, limit=5, on_page=stop_after_first)
    assert len(_stored(local)) == 4  # the identity and four indicators
    rest = puller.pull_feed(local, feed_id, limit=5)
    assert (rest.received, rest.stored) == (3, 3)
    assert len(_stored(local)) == 7


def _fake_remote(
    objects_response: Callable[[httpx.Request], httpx.Response],
) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith("/objects/"):
            return objects_response(request)
        if path.endswith("/collections/"):
            body = {"collections": [{"id": "c1", "alias": "all", "can_read": True}]}
        else:
            body = {"title": "Fake", "versions": [TAXII]}
        return httpx.Response(200, json=body, headers={"Content-Type": TAXII})

    return httpx.MockTransport(handler)


def _taxii(body: Any, status: int = 200, **headers: str) -> httpx.Response:
    return httpx.Response(
        status, content=orjson.dumps(body), headers={"Content-Type": TAXII, **headers}
    )


@pytest.mark.parametrize(
    ("respond", "message"),
    [
        (
            lambda r: httpx.Response(200, json={"objects": []}),
            "answered Content-Type 'application/json', not TAXII 2.1",
        ),
        (
            lambda r: _taxii(
                {"title": "Oops", "description": "disk full", "http_status": "500"}, 500
            ),
            "answered 500 Internal Server Error: disk full",
        ),
        (
            lambda r: _taxii({"more": True, "objects": [indicator(1)]}),
            "says there is more but gives no next or Date-Added-Last",
        ),
        (
            lambda r: _taxii({"more": True, "next": "same", "objects": [indicator(1)]}),
            "returned the same next cursor twice",
        ),
        (
            lambda r: _taxii({"more": True, "objects": []}),
            "says there is more but sent an empty page",
        ),
        (lambda r: _taxii({"objects": {"a": 1}}), "envelope whose objects are not a list"),
        (
            lambda r: httpx.Response(200, content=b"<html>", headers={"Content-Type": TAXII}),
            "answered something that is not JSON",
        ),
    ],
)
def test_a_misbehaving_remote_gets_a_clear_error(
    local: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
    respond: Callable[[httpx.Request], httpx.Response],
    message: str,
):
    monkeypatch.setenv("REMOTE_TOKEN", "t")
    importer = add_member(local, "Local L")
    feed_id = _feed(local, "http://fake.example/api/", importer)
    with pytest.raises(RemoteError) as caught:
        puller.pull_feed(local, feed_id, transport=_fake_remote(respond))
    assert message in str(caught.value)
    with local() as s:
        feed = s.get(Feed, feed_id)
        assert feed is not None and feed.last_result == str(caught.value)


def test_a_remote_paging_by_added_after_only(
    local: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("REMOTE_TOKEN", "t")
    importer = add_member(local, "Local L")
    feed_id = _feed(local, "http://fake.example/api/", importer)
    creator = {"created_by_ref": "identity--00000000-0000-4000-8000-0000000000aa"}
    pages = {
        None: ({"more": True, "objects": [indicator(1, **creator)]}, "2024-05-01T00:00:00.000001Z"),
        "2024-05-01T00:00:00.000001Z": (
            {"more": False, "objects": [indicator(2, **creator)]},
            "2024-05-01T00:00:00.000002Z",
        ),
    }

    def respond(request: httpx.Request) -> httpx.Response:
        body, last = pages[request.url.params.get("added_after")]
        return _taxii(body, **{"X-TAXII-Date-Added-Last": last})

    result = puller.pull_feed(local, feed_id, transport=_fake_remote(respond))
    assert (result.pages, result.stored, result.cursor) == (2, 2, "2024-05-01T00:00:00.000002Z")


def test_objects_another_local_org_owns_are_skipped_not_fatal(
    live: str,
    client: TestClient,
    remote_org: Member,
    local: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
):
    from minga.intel.service import create_objects

    monkeypatch.setenv("REMOTE_TOKEN", remote_org.token)
    importer = add_member(local, "Local L")
    other = add_member(local, "Local O")
    with local() as s:
        # Another version of an id that Local O owns: the remote's version may not join it.
        create_objects(s, other.principal, [indicator(3, modified="2024-03-01T12:00:00.001Z")])
        s.commit()
    feed_id = _feed(local, f"{live}/taxii2/", importer)
    result = puller.pull_feed(local, feed_id)
    assert (result.received, result.stored, result.skipped) == (8, 7, 1)
    assert result.problems == ["only the organisation that created it may version it"]


def test_scheduled_pulls_run_when_due(
    live: str, remote_org: Member, local: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("REMOTE_TOKEN", remote_org.token)
    importer = add_member(local, "Local L")
    _feed(local, f"{live}/taxii2/", importer, interval_seconds=3600)
    with local() as s:
        puller.add_feed(
            s,
            name="gone",
            url="http://127.0.0.1:9/taxii2/",
            collection="all",
            user_id=importer.user_id,
            interval_seconds=60,
        )
        s.commit()
    outcomes = puller.run_due(local)
    assert sorted(outcomes) == ["gone", "remote"]
    assert str(outcomes["gone"]).startswith("cannot reach the TAXII server at http://127.0.0.1:9/")
    assert isinstance(outcomes["remote"], puller.PullResult)
    assert outcomes["remote"].stored == 8
    assert puller.run_due(local) == {}
    later = datetime.now(UTC) + timedelta(hours=2)
    assert [type(o) for o in puller.run_due(local, now=later).values()] == [
        puller.PullResult,
        str,
    ]


def test_the_background_scheduler_pulls(
    live: str, remote_org: Member, local: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("REMOTE_TOKEN", remote_org.token)
    importer = add_member(local, "Local L")
    feed_id = _feed(local, f"{live}/taxii2/", importer, interval_seconds=3600)
    scheduler = puller.scheduler(local, 0.05)
    scheduler.start()
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with local() as s:
                feed = s.get(Feed, feed_id)
                if feed is not None and feed.last_run_at is not None:
                    break
            time.sleep(0.05)
    finally:
        scheduler.stop()
    assert len(_stored(local)) == 7


def test_cli_pull_and_feeds(
    live: str,
    remote_org: Member,
    sqlite_template: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
):
    path = tmp_path / "cli.db"
    shutil.copy(sqlite_template, path)
    monkeypatch.setenv("MINGA_DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.setattr(taxii_cli, "out", Console(width=400))
    engine = make_engine(Settings().database_url)
    importer = add_member(make_sessionmaker(engine), "Local L")
    engine.dispose()
    runner = CliRunner()
    user = "local-l-analyst"
    args = ["taxii", "pull", f"{live}/taxii2/", "--collection", "all", "--user", user]
    r = runner.invoke(cli_app, [*args, "--token", remote_org.token, "--limit", "4"])
    assert r.exit_code == 0, r.output
    assert "Pulled 8 objects in 2 pages: 8 new, 0 already here, 0 skipped." in r.output
    r = runner.invoke(cli_app, [*args, "--token", remote_org.token])
    assert "Pulled 0 objects in 1 pages" in r.output
    r = runner.invoke(cli_app, [*args, "--token", "mgt_wrong.token"])
    assert r.exit_code == 4
    assert "refused the credentials (401 Unauthorized)" in r.output
    r = runner.invoke(cli_app, ["taxii", "feed", "list"])
    assert f"{live}/taxii2/" in r.output
    r = runner.invoke(
        cli_app,
        ["taxii", "feed", "add", "nightly", f"{live}/taxii2/", "--collection", "x", "--user", user],
    )
    assert r.exit_code == 0, r.output
    r = runner.invoke(
        cli_app, ["taxii", "feed", "add", "nightly", "ftp://x", "--collection", "x", "--user", user]
    )
    assert r.exit_code == 2
    r = runner.invoke(
        cli_app, ["taxii", "collection", "create", "Reds", "--alias", "reds", "--tlp", "red"]
    )
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli_app, ["taxii", "collection", "list"])
    assert "reds" in r.output and '{"tlps":["red"]}' in r.output
    r = runner.invoke(cli_app, ["taxii", "collection", "create", "Bad", "--type", "Nope!"])
    assert r.exit_code == 2
    assert importer.org_id > 0
