"""Tables of the TAXII adapter: collections (views over the store), status resources, feeds."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from minga.db import Base

# Seeded by migration 0002: everything the caller may see, the same id on every node.
DEFAULT_COLLECTION_ID = "f0a8fbb8-6807-4d20-86d6-0160f12085e1"


class Collection(Base):
    """A TAXII collection: a named filter over the store. What a caller sees is the policy's."""

    __tablename__ = "taxii_collections"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    alias: Mapped[str | None] = mapped_column(String(100), unique=True, nullable=True)
    # JSON: {"types": [...], "tlps": [...], "owner_org_id": n, "sources": [...]}
    filters: Mapped[str] = mapped_column(Text, default="{}")
    can_read: Mapped[bool] = mapped_column(Boolean, default=True)
    can_write: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The organisation whose admins and coordinators manage it; None: the node (operator).
    owner_org_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id"), nullable=True, index=True
    )


class AddStatus(Base):
    """The status resource of one POST to a collection, kept at least 24 hours."""

    __tablename__ = "taxii_status"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[int] = mapped_column(Integer, index=True)
    user_id: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    request_timestamp: Mapped[str] = mapped_column(String(40))
    total_count: Mapped[int] = mapped_column(Integer)
    success_count: Mapped[int] = mapped_column(Integer)
    failure_count: Mapped[int] = mapped_column(Integer)
    pending_count: Mapped[int] = mapped_column(Integer)
    successes: Mapped[str] = mapped_column(Text, default="[]")
    failures: Mapped[str] = mapped_column(Text, default="[]")
    pendings: Mapped[str] = mapped_column(Text, default="[]")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class Feed(Base):
    """A remote TAXII collection this node pulls, with its resumable added_after cursor."""

    __tablename__ = "taxii_feeds"
    __table_args__ = (UniqueConstraint("api_root_url", "collection"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    api_root_url: Mapped[str] = mapped_column(String(500))
    collection: Mapped[str] = mapped_column(String(200))
    # The local account the objects are stored as; its organisation owns them.
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    # Credentials are never stored: the name of an environment variable holding the token.
    token_env: Mapped[str | None] = mapped_column(String(120), nullable=True)
    username: Mapped[str | None] = mapped_column(String(120), nullable=True)
    interval_seconds: Mapped[int] = mapped_column(Integer, default=0)
    reach: Mapped[str] = mapped_column(String(16), default="community")
    added_after: Mapped[str | None] = mapped_column(String(40), nullable=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    last_run_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_result: Mapped[str] = mapped_column(Text, default="")
    last_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
