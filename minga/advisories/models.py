"""Tables of public advisories, their immutable revisions, awareness campaigns and page views.

An advisory's `content` is its current text (JSON: texts per language, severity, sectors,
products, references, linked objects); every publication, update and withdrawal adds a revision
row holding the content as it was then, never changed afterwards.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from minga.db import Base


class Advisory(Base):
    __tablename__ = "advisories"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # The public identifier (and CSAF `tracking.id`), e.g. "MINGA-2026-0007".
    tracking_id: Mapped[str] = mapped_column(String(64), unique=True)
    owner_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)  # draft, published, withdrawn
    category: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(16))
    content: Mapped[str] = mapped_column(Text)  # JSON
    search_text: Mapped[str] = mapped_column(Text, default="")
    # ",health,finance," and ",es,en,": sector and language filters are a LIKE on these.
    sectors: Mapped[str] = mapped_column(String(2100), default=",")
    langs: Mapped[str] = mapped_column(String(20), default=",")
    revision: Mapped[int] = mapped_column(Integer, default=0)  # 0: never published
    # Also a CSAF document once public (`content.csaf_ready`): the provider lists these.
    csaf: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    published_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True, index=True
    )
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    withdrawn_reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class AdvisoryRevision(Base):
    """One published state of an advisory; rows are only ever added."""

    __tablename__ = "advisory_revisions"
    __table_args__ = (UniqueConstraint("advisory_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    advisory_id: Mapped[int] = mapped_column(ForeignKey("advisories.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    by_user_id: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))  # published or withdrawn
    summary: Mapped[str] = mapped_column(String(500))  # what changed, for the history
    content: Mapped[str] = mapped_column(Text)  # JSON, as published in this revision


class Campaign(Base):
    """An awareness campaign: a theme for a period, with tips and the advisories it gathers."""

    __tablename__ = "awareness_campaigns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    owner_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    content: Mapped[str] = mapped_column(Text)  # JSON: texts per language (title, theme, tips)
    advisory_ids: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of tracking ids
    published: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class PageView(Base):
    """Views of one public page on one day: a counter, nothing about who viewed it."""

    __tablename__ = "public_page_views"

    page: Mapped[str] = mapped_column(String(200), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    views: Mapped[int] = mapped_column(Integer, default=0)
