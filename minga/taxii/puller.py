"""Pulling remote TAXII collections into the store: feeds, resumable cursors, the scheduler.

Each page is stored and its cursor saved in one transaction, so an interrupted pull resumes
after the last page stored. Imported objects keep their source and their creator; the
organisation of the feed's account owns them for visibility.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urljoin, urlparse

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from minga import audit
from minga.accounts import service as accounts
from minga.background import Periodic
from minga.db import unit_of_work
from minga.errors import InvalidInput, MingaError, NotFound
from minga.intel import quirks
from minga.intel.service import Provenance, parse_reach
from minga.policy import Action, may
from minga.taxii.client import RemoteError, TaxiiClient
from minga.taxii.models import Feed
from minga.taxii.service import store_tolerant

log = logging.getLogger("minga.taxii")
MAX_LISTED = 1000  # refused objects a pull keeps with their reason (all are counted)


@dataclass(slots=True)
class PullResult:
    feed: str
    pages: int = 0
    received: int = 0
    stored: int = 0
    existing: int = 0
    skipped: int = 0
    repaired: int = 0  # objects stored after a known harmless quirk was repaired
    cursor: str | None = None
    problems: list[str] = field(default_factory=list)  # the first few reasons items were skipped
    refused: list[dict[str, str]] = field(default_factory=list)  # id and reason, first MAX_LISTED

    def summary(self) -> str:
        said = (
            f"{self.received} objects in {self.pages} pages: {self.stored} new, "
            f"{self.existing} already here, {self.skipped} skipped"
        )
        return said + (f", {self.repaired} repaired" if self.repaired else "")

    def report(self) -> str:
        """The summary and each refused object with its reason (kept as the feed's last result)."""
        refused = "; ".join(f"{r['id']}: {r['reason']}" for r in self.refused)
        return self.summary() + (f". Refused: {refused}" if refused else "")


# -- feeds ---------------------------------------------------------------------------------


def add_feed(
    session: Session,
    *,
    name: str,
    url: str,
    collection: str,
    user_id: int,
    token_env: str | None = None,
    username: str | None = None,
    interval_seconds: int = 0,
    reach: str = "community",
) -> Feed:
    """A remote collection to pull; `interval_seconds` 0 means only when asked."""
    if not url.startswith(("http://", "https://")):
        raise InvalidInput(f"the feed URL must start with http:// or https://, not {url!r}")
    if interval_seconds < 0:
        raise InvalidInput("the interval must be 0 (manual) or a number of seconds")
    user = accounts.get_user(session, user_id)
    if not may(accounts.principal_for(session, user), Action.PUBLISH):
        raise InvalidInput(f"the account {user.name!r} may not publish, so it cannot import")
    if session.scalar(select(Feed.id).where(Feed.name == name)) is not None:
        raise InvalidInput(f"there is already a feed named {name!r}")
    feed = Feed(
        name=name,
        api_root_url=url if url.endswith("/") else url + "/",
        collection=collection,
        user_id=user.id,
        token_env=token_env or None,
        username=username or None,
        interval_seconds=interval_seconds,
        reach=parse_reach(reach).value,
        enabled=True,
        last_result="",
        last_count=0,
        created_at=datetime.now(UTC),
    )
    session.add(feed)
    session.flush()
    audit.record(session, None, "taxii.feed.create", "taxii-feed", feed.id, url=url, name=name)
    return feed


def get_feed(session: Session, ref: str) -> Feed:
    found = session.get(Feed, int(ref)) if ref.isdigit() else None
    found = found or session.scalar(select(Feed).where(Feed.name == ref))
    if found is None:
        raise NotFound(f"no feed {ref!r} (give its id or name)")
    return found


def find_feed(session: Session, url: str, collection: str) -> Feed | None:
    root = url if url.endswith("/") else url + "/"
    stmt = select(Feed).where(Feed.api_root_url == root, Feed.collection == collection)
    return session.scalar(stmt)


def list_feeds(session: Session) -> list[Feed]:
    return list(session.scalars(select(Feed).order_by(Feed.id)))


def remove_feed(session: Session, ref: str) -> Feed:
    found = get_feed(session, ref)
    session.delete(found)
    audit.record(session, None, "taxii.feed.delete", "taxii-feed", found.id)
    return found


# -- pulling -------------------------------------------------------------------------------


def pull_feed(
    sessions: sessionmaker[Session],
    feed_id: int,
    *,
    token: str | None = None,
    limit: int = 500,
    from_start: bool = False,
    on_page: Callable[[PullResult], None] | None = None,
    transport: httpx.BaseTransport | None = None,
    user_id: int | None = None,
) -> PullResult:
    """Pull every object added since the feed's cursor, stored as the feed's account (or
    `user_id`'s, for a pull someone runs by hand); raises RemoteError or MingaError."""
    with sessions() as s:
        feed = s.get(Feed, feed_id)
        if feed is None:
            raise NotFound(f"no feed {feed_id}")
        name, url, ref = feed.name, feed.api_root_url, feed.collection
        if user_id is not None and user_id != feed.user_id:
            user = accounts.get_user(s, user_id)
            if not may(accounts.principal_for(s, user), Action.PUBLISH):
                raise InvalidInput(
                    f"the account {user.name!r} may not publish, so it cannot import"
                )
        user_id = user_id or feed.user_id
        reach, cursor, username = parse_reach(feed.reach), feed.added_after, feed.username
        token = token or (os.environ.get(feed.token_env) if feed.token_env else None)
        if feed.token_env and not token:
            raise InvalidInput(f"the environment variable {feed.token_env} holds no token")
    result = PullResult(name, cursor=None if from_start else cursor)
    try:
        with TaxiiClient(url, token=token, username=username, transport=transport) as client:
            root = client.api_root()
            collection_id = client.find_collection(root, ref)
            provenance = Provenance(
                source=urljoin(root, f"collections/{collection_id}/")[:200],
                origin_node=urlparse(root).netloc[:200] or None,
                hop_count=1,
            )
            for page in client.pages(root, collection_id, added_after=result.cursor, limit=limit):
                repaired = [quirks.repair(obj) for obj in page.objects]
                objs = [obj for obj, _ in repaired]
                with unit_of_work(sessions) as s:
                    principal = accounts.principal_for(s, accounts.get_user(s, user_id))
                    stored, failures = store_tolerant(
                        s,
                        principal,
                        objs,
                        reach=reach,
                        provenance=provenance,
                        enforce_creator=False,
                    )
                    if page.date_added_last:
                        result.cursor = page.date_added_last
                        row = s.get(Feed, feed_id)
                        if row is not None:
                            row.added_after = result.cursor
                result.pages += 1
                result.received += len(page.objects)
                result.stored += len(stored.created)
                result.existing += len(stored.existing)
                result.skipped += len(failures)
                result.repaired += sum(1 for _, notes in repaired if notes)
                for i, reason in sorted(failures.items())[: MAX_LISTED - len(result.refused)]:
                    oid = objs[i].get("id") if isinstance(objs[i], dict) else None
                    result.refused.append({"id": str(oid or f"object {i}"), "reason": reason})
                result.problems.extend(list(failures.values())[: max(0, 5 - len(result.problems))])
                if on_page is not None:
                    on_page(result)
    except (RemoteError, MingaError) as exc:
        _record(sessions, feed_id, str(exc) if isinstance(exc, RemoteError) else exc.message, 0)
        raise
    _record(sessions, feed_id, result.report(), result.stored)
    return result


def _record(sessions: sessionmaker[Session], feed_id: int, outcome: str, count: int) -> None:
    with unit_of_work(sessions) as s:
        row = s.get(Feed, feed_id)
        if row is not None:
            row.last_run_at = datetime.now(UTC)
            row.last_result = outcome[:2000]
            row.last_count = count


def due_feeds(session: Session, now: datetime) -> dict[int, str]:
    """Ids and names of the scheduled feeds whose interval has passed."""
    stmt = select(Feed).where(Feed.enabled, Feed.interval_seconds > 0).order_by(Feed.id)
    found = session.scalars(stmt)
    return {
        f.id: f.name
        for f in found
        if f.last_run_at is None
        or _aware(f.last_run_at) + timedelta(seconds=f.interval_seconds) <= now
    }


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def run_due(
    sessions: sessionmaker[Session],
    *,
    now: datetime | None = None,
    transport: httpx.BaseTransport | None = None,
) -> dict[str, PullResult | str]:
    """Run every scheduled pull that is due; a failing feed is recorded and the others still run."""
    with sessions() as s:
        due = due_feeds(s, now or datetime.now(UTC))
    outcomes: dict[str, PullResult | str] = {}
    for feed_id, name in due.items():
        try:
            outcomes[name] = pull_feed(sessions, feed_id, transport=transport)
        except (RemoteError, MingaError) as exc:
            message = str(exc) if isinstance(exc, RemoteError) else exc.message
            log.warning("TAXII pull of feed %r failed: %s", name, message)
            outcomes[name] = message
    return outcomes


def scheduler(sessions: sessionmaker[Session], check_seconds: float) -> Periodic:
    """A background loop running due pulls every ``check_seconds`` while the node serves."""
    return Periodic("taxii-pulls", check_seconds, lambda: run_due(sessions))
