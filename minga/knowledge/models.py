"""Tables of the reference knowledge: what was loaded (releases) and look-up entries.

The STIX objects themselves (attack patterns, vulnerabilities, ...) live in the object store,
owned by the node's operator organisation at TLP:CLEAR; an entry is the small index that pages
and the extractor read ("T1566.002" -> name, tactics, STIX id) without parsing stored objects.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from minga.db import Base


class Release(Base):
    """The release of one source last loaded (attack-enterprise, attack-ics, kev, ...)."""

    __tablename__ = "knowledge_releases"

    source: Mapped[str] = mapped_column(String(40), primary_key=True)
    release: Mapped[str] = mapped_column(String(200))
    location: Mapped[str] = mapped_column(String(1000))  # file, directory or URL loaded from
    loaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    entries: Mapped[int] = mapped_column(Integer)
    stored: Mapped[int] = mapped_column(Integer)  # objects (versions) new in that load


class Entry(Base):
    """One look-up entry: a technique, tactic, known-exploited CVE, taxonomy or galaxy cluster."""

    __tablename__ = "knowledge_entries"
    __table_args__ = (UniqueConstraint("kind", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(300))
    name: Mapped[str] = mapped_column(String(500))
    stix_id: Mapped[str | None] = mapped_column(String(300), nullable=True)
    data: Mapped[str] = mapped_column(Text)  # JSON
