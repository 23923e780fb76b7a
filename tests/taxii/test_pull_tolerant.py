"""A scheduled TAXII pull repairs known quirks and keeps each refused object with its reason."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from minga.taxii import puller
from minga.taxii.models import Feed
from tests.conftest import add_member
from tests.ingest.test_tolerant import BAD, COMPONENT
from tests.taxii.test_pull import _fake_remote, _feed, _taxii, local  # noqa: F401


def test_pull_repairs_quirks_and_lists_refused(
    local: sessionmaker[Session],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.setenv("REMOTE_TOKEN", "t")
    importer = add_member(local, "Local L")
    feed_id = _feed(local, "http://fake.example/api/", importer)

    def respond(request: httpx.Request) -> httpx.Response:
        return _taxii({"more": False, "objects": [COMPONENT, BAD]})

    result = puller.pull_feed(local, feed_id, transport=_fake_remote(respond))
    assert (result.stored, result.repaired, result.skipped) == (1, 1, 1)
    assert [r["id"] for r in result.refused] == [BAD["id"]]
    assert result.refused[0]["reason"].startswith("pattern is not a valid STIX pattern")
    with local() as s:
        feed = s.get(Feed, feed_id)
        assert feed is not None and f"Refused: {BAD['id']}: pattern" in feed.last_result
