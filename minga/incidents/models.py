"""Tables of the incident domain: cases, the organisations they name, timeline, tasks, comments,
attachments, linked records, escalation hops and the regulatory clocks met."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from minga.db import Base

STATUSES = ("new", "triage", "in-progress", "contained", "resolved", "closed")
ORG_ROLES = ("reporter", "affected", "assigned")


class Incident(Base):
    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    classification: Mapped[str] = mapped_column(String(120))  # RSIT machine tag
    severity: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20), index=True)
    tlp: Mapped[str] = mapped_column(String(16))
    pap: Mapped[str] = mapped_column(String(16))
    # The organisation handling the case.
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    created_by: Mapped[int | None] = mapped_column(Integer, nullable=True)
    sectors: Mapped[str] = mapped_column(String(500), default="")  # comma-separated
    countries: Mapped[str] = mapped_column(String(200), default="")  # ISO codes, comma-separated
    lessons: Mapped[str] = mapped_column(Text, default="")
    detected_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    contained_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # The incident this one was escalated from (the previous hop), on this node.
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("incidents.id"), nullable=True, index=True
    )
    # The exercise (its ref) this case belongs to: none for real ones (`minga.exercises`).
    exercise: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)


class IncidentOrg(Base):
    """An organisation an incident names: its reporter, an affected or an assigned one."""

    __tablename__ = "incident_orgs"

    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True
    )
    org_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id"), primary_key=True, index=True
    )
    role: Mapped[str] = mapped_column(String(16), primary_key=True)


class TimelineEntry(Base):
    __tablename__ = "incident_timeline"
    __table_args__ = (Index("ix_incident_timeline_incident_at", "incident_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    user_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    org_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    kind: Mapped[str] = mapped_column(String(32))  # created, status, task, note, escalated, ...
    text: Mapped[str] = mapped_column(Text)


class Task(Base):
    __tablename__ = "incident_tasks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(300))
    phase: Mapped[str] = mapped_column(String(40), default="")
    status: Mapped[str] = mapped_column(String(16), default="open")  # open, done
    assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id"), nullable=True, index=True
    )
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Comment(Base):
    __tablename__ = "incident_comments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(Integer)
    org_id: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    body: Mapped[str] = mapped_column(Text)


class Attachment(Base):
    """A file kept in the database; only ever served as a download, never rendered."""

    __tablename__ = "incident_attachments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    tlp: Mapped[str] = mapped_column(String(16))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    user_id: Mapped[int] = mapped_column(Integer)
    org_id: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Record(Base):
    """A STIX object of the intel store linked to an incident, with its TLP/PAP in the case."""

    __tablename__ = "incident_records"

    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True
    )
    stix_id: Mapped[str] = mapped_column(String(300), primary_key=True, index=True)
    tlp: Mapped[str] = mapped_column(String(16))
    pap: Mapped[str] = mapped_column(String(16))
    org_id: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Escalation(Base):
    """One hop of an escalation chain: the incident at the next level and its acknowledgement."""

    __tablename__ = "incident_escalations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    from_incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), index=True
    )
    to_incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), index=True
    )
    from_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    to_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    tlp: Mapped[str] = mapped_column(String(16))
    pap: Mapped[str] = mapped_column(String(16))
    shared: Mapped[str] = mapped_column(Text, default="[]")  # JSON: STIX ids passed on
    redacted: Mapped[str] = mapped_column(Text, default="[]")  # JSON: fields withheld
    sent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ack_due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    acknowledged_by: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # A hop across the federation: the peer node, the hop's id both nodes know it by, and the
    # incident at the other end (on the peer).
    peer: Mapped[str | None] = mapped_column(String(200), nullable=True)
    ref: Mapped[str | None] = mapped_column(String(36), nullable=True, unique=True)
    remote_incident_id: Mapped[int | None] = mapped_column(Integer, nullable=True)


class ClockMet(Base):
    """A regulatory reporting clock (first notice, full report) the holder marked as met."""

    __tablename__ = "incident_clocks"

    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True
    )
    clock: Mapped[str] = mapped_column(String(40), primary_key=True)
    met_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    user_id: Mapped[int | None] = mapped_column(Integer, nullable=True)


class Assistance(Base):
    """A request for assistance on an incident, from its holder to another organisation."""

    __tablename__ = "incident_assistance"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), index=True
    )
    from_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    to_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    what: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="asked")  # asked, accepted, declined
    asked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    answer: Mapped[str] = mapped_column(Text, default="")
