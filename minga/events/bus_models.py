"""Tables of the bus's own consumers."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, String, Table

from minga.db import Base

# Events seen per kind (`minga.events.counts`): `last_seq` is the newest event counted, so a
# batch delivered again (a worker stopped before its ack) is not counted twice.
event_counts = Table(
    "event_counts",
    Base.metadata,
    Column("kind", String(40), primary_key=True),
    Column("events", BigInteger, nullable=False),
    Column("last_seq", BigInteger, nullable=False),
)
