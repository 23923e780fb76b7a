"""Answering a poller's "anything new?" without producing the feed again.

A firewall polls its feed URL every few minutes; producing a feed of a million indicators
takes a while. After a feed is produced, its ETag is remembered with a fingerprint of what it
was made from: the number and newest position of the matching indicators (a new version, a
revocation or a deletion changes them), the state of the imported warninglists and of the
score table (when the node has one), and the earliest validity end still ahead. A poll that
sends that ETag back while the fingerprint holds gets its 304 at the cost of two aggregate
queries. Whom the feed is for is part of the key (organisation, role, groups), so a change of
group membership is a new feed.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from minga.correlate.feeds import FeedFilter, feed_statement
from minga.correlate.models import warninglists
from minga.db import Base
from minga.policy import Principal

MAX_ENTRIES = 1000

Key = tuple[str, FeedFilter, Principal]


@dataclass(frozen=True, slots=True)
class Produced:
    fingerprint: tuple[Any, ...]
    etag: str
    last_modified: datetime
    next_expiry_us: int  # 0: no validity ends ahead


def fingerprint(session: Session, principal: Principal, f: FeedFilter) -> tuple[Any, ...]:
    sub = feed_statement(principal, f, include_revoked=True).subquery()
    count, newest = session.execute(select(func.count(), func.max(sub.c.added_us))).one()
    lists = session.execute(
        select(
            func.count(), func.max(warninglists.c.imported_at), func.sum(warninglists.c.entries)
        ).where(warninglists.c.enabled)
    ).one()
    scores: Any = None
    table = Base.metadata.tables.get("indicator_scores")  # the score table, where present
    if table is not None and "computed_us" in table.c:
        scores = session.scalar(select(func.max(table.c.computed_us)))
    return (count, newest, tuple(lists), scores)


class FeedCache:
    """The last production of each feed, per process (bounded, least recently used out)."""

    def __init__(self, size: int = MAX_ENTRIES) -> None:
        self.size = size
        self._entries: OrderedDict[Key, Produced] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Key) -> Produced | None:
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
            return found

    def put(self, key: Key, produced: Produced) -> None:
        with self._lock:
            self._entries[key] = produced
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
