"""The outbox: one row per committed change, written in the change's own transaction."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, Index, Integer, String, Table, Text

from minga.db import Base

events = Table(
    "events",
    Base.metadata,
    # A position from the store's commit-ordered counter (`minga.intel.positions`), so events
    # commit in `seq` order and a reader resuming after `seq` never misses one.
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("kind", String(40), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("actor_org_id", Integer, nullable=True),
    Column("actor_user_id", Integer, nullable=True),
    # What the change is about: a STIX id, "incident:12", "ingest-job:7" ...
    Column("subject", String(200), nullable=True),
    # Object events: the positions (added_us) of the versions the change stored; the rows
    # themselves are read from the store, through the reader's visibility filter.
    Column("first_us", BigInteger, nullable=True),
    Column("last_us", BigInteger, nullable=True),
    Column("count", Integer, nullable=False, default=1),
    Column("payload", Text, nullable=False, default="{}"),
)
Index("ix_events_kind_seq", events.c.kind, events.c.seq)

# Where each named consumer (a stream relay, the webhook sender, the NATS relay ...) has read
# up to. A consumer advances its cursor in the transaction that records what it did.
event_cursors = Table(
    "event_cursors",
    Base.metadata,
    Column("name", String(80), primary_key=True),
    Column("seq", BigInteger, nullable=False),
)
