"""Tables of the assessments domain: CMM and CSF self-assessments, the risk register, and the
situation reports rendered on a schedule."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from minga.db import Base


class CmmAssessment(Base):
    """A country's national self-assessment on CMM 2021 for one year, kept by an organisation
    (in practice the national CSIRT)."""

    __tablename__ = "cmm_assessments"
    __table_args__ = (UniqueConstraint("org_id", "year"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    country: Mapped[str] = mapped_column(String(2), index=True)
    year: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="draft")  # draft | completed
    gci: Mapped[str] = mapped_column(Text, default="{}")  # JSON: edition + pillar scores
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class CmmAnswer(Base):
    """The stage given to one aspect, why, and the evidence linked to it."""

    __tablename__ = "cmm_answers"

    assessment_id: Mapped[int] = mapped_column(
        ForeignKey("cmm_assessments.id", ondelete="CASCADE"), primary_key=True
    )
    aspect_key: Mapped[str] = mapped_column(String(16), primary_key=True)
    stage: Mapped[int | None] = mapped_column(Integer, nullable=True)
    justification: Mapped[str] = mapped_column(Text, default="")
    evidence: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of links
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CsfAssessment(Base):
    """An organisation's self-assessment on NIST CSF 2.0."""

    __tablename__ = "csf_assessments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="draft")  # draft | completed
    # The organisation's consent to count this assessment in its sector's aggregate.
    share_with_sector: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class CsfAnswer(Base):
    """Current and target tier of one subcategory, and the action that closes the gap."""

    __tablename__ = "csf_answers"

    assessment_id: Mapped[int] = mapped_column(
        ForeignKey("csf_assessments.id", ondelete="CASCADE"), primary_key=True
    )
    subcategory: Mapped[str] = mapped_column(String(16), primary_key=True)
    current: Mapped[int | None] = mapped_column(Integer, nullable=True)
    target: Mapped[int | None] = mapped_column(Integer, nullable=True)
    importance: Mapped[int] = mapped_column(Integer, default=2)  # 1 low, 2 medium, 3 high
    action: Mapped[str] = mapped_column(Text, default="")
    owner: Mapped[str] = mapped_column(String(200), default="")
    due_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    notes: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Risk(Base):
    """One entry of an organisation's risk register."""

    __tablename__ = "risks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    asset: Mapped[str] = mapped_column(String(300))
    service: Mapped[str] = mapped_column(String(300), default="")
    threat: Mapped[str] = mapped_column(String(500))
    threat_refs: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of STIX ids
    likelihood: Mapped[int] = mapped_column(Integer)
    impact: Mapped[int] = mapped_column(Integer)
    treatment: Mapped[str] = mapped_column(String(16), default="mitigate")
    treatment_plan: Mapped[str] = mapped_column(Text, default="")
    owner: Mapped[str] = mapped_column(String(200), default="")
    review_on: Mapped[date] = mapped_column(Date, index=True)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | closed
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Sitrep(Base):
    """A regional situation report rendered on a schedule (HTML and PDF), as the node operator
    sees the node."""

    __tablename__ = "sitreps"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    lang: Mapped[str] = mapped_column(String(2))
    period_days: Mapped[int] = mapped_column(Integer)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))  # whose view
    html: Mapped[str] = mapped_column(Text)
    pdf: Mapped[bytes] = mapped_column(LargeBinary)
