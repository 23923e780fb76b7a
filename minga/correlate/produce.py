"""Producing a feed: rows from the store through a format's writer, streamed, or spooled to
a temporary file with its content hash (the ETag a poller sends back)."""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO

from sqlalchemy.orm import Session, sessionmaker

from minga.correlate.export import Format, render
from minga.correlate.feeds import FeedFilter, FeedStats, export_meta, stream_rows
from minga.intel.stix import ts_to_us
from minga.policy import Principal

SPOOL_BYTES = 4 * 2**20  # a spooled feed stays in memory up to this, then goes to disk
CHUNK = 64 * 1024


def text_chunks(
    session: Session, principal: Principal, fmt: Format, f: FeedFilter, node: str
) -> Iterator[str]:
    """The whole feed as text, a piece at a time."""
    meta = export_meta(session, principal, f, node, description=f.describe())
    yield from render(fmt, stream_rows(session, principal, f), meta)


def byte_chunks(
    sessions: sessionmaker[Session], principal: Principal, fmt: Format, f: FeedFilter, node: str
) -> Iterator[bytes]:
    """The feed as bytes in chunks of about `CHUNK`, read in one transaction of its own (a
    streamed HTTP answer outlives the request's session)."""
    with sessions() as session:
        pending: list[bytes] = []
        size = 0
        for text in text_chunks(session, principal, fmt, f, node):
            data = text.encode()
            pending.append(data)
            size += len(data)
            if size >= CHUNK:
                yield b"".join(pending)
                pending, size = [], 0
        if pending:
            yield b"".join(pending)
        session.rollback()


@dataclass
class Spooled:
    """A produced feed: its bytes in `body` (rewound), their hash, and the newest change."""

    body: IO[bytes]
    etag: str
    size: int
    last_modified: datetime
    next_expiry_us: int = 0  # the earliest validity end ahead (0: none)

    def chunks(self) -> Iterator[bytes]:
        try:
            while data := self.body.read(CHUNK):
                yield data
        finally:
            self.body.close()


def spool(session: Session, principal: Principal, fmt: Format, f: FeedFilter, node: str) -> Spooled:
    meta = export_meta(session, principal, f, node, description=f.describe())
    stats = FeedStats()
    body = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 (handed on)
    digest = hashlib.sha256()
    size = 0
    for text in render(fmt, stream_rows(session, principal, f, stats=stats), meta):
        data = text.encode()
        digest.update(data)
        body.write(data)
        size += len(data)
    body.seek(0)
    changed_us = max(ts_to_us(meta.as_of), stats.expired_us)
    modified = datetime.fromtimestamp(changed_us // 1_000_000, UTC)
    etag = f'"{digest.hexdigest()[:40]}"'
    return Spooled(body, etag, size, modified, stats.next_expiry_us)
