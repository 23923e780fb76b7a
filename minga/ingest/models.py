"""Tables of the ingestion pipeline: the job queue, job payloads and report drafts."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
)

from minga.db import Base

# Job states: queued -> running -> done | failed (bad input, not retried) | dead (retries used up).
jobs = Table(
    "ingest_jobs",
    Base.metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("error", Text, nullable=True),
    Column("source", String(500), nullable=False, default=""),
    Column("content_type", String(200), nullable=True),
    Column("options", Text, nullable=False, default="{}"),
    Column("result", Text, nullable=True),
    Column("payload_size", BigInteger, nullable=False, default=0),
    Column("owner_user_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("owner_org_id", Integer, ForeignKey("organisations.id"), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_ingest_jobs_status", "status", "id"),
    Index("ix_ingest_jobs_owner", "owner_org_id", "id"),
)

# Payloads live apart from jobs so listing jobs never reads megabytes; deleted once a job ends.
payloads = Table(
    "ingest_payloads",
    Base.metadata,
    Column("job_id", Integer, ForeignKey("ingest_jobs.id", ondelete="CASCADE"), primary_key=True),
    Column("data", LargeBinary, nullable=False),
)

drafts = Table(
    "ingest_drafts",
    Base.metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("org_id", Integer, ForeignKey("organisations.id"), nullable=False),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("name", String(300), nullable=False),
    Column("filename", String(300), nullable=True),
    Column("language", String(8), nullable=False, default=""),
    Column("status", String(16), nullable=False),
    Column("excerpt", Text, nullable=False, default=""),
    Column("items", Text, nullable=False, default="[]"),
    # reading limits that cut the report: [{"code": ..., "read": n, "total": n|null}]
    Column("limits", Text, nullable=False, default="[]", server_default="[]"),
    Column("report_id", String(128), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # the report's own summary (its description when published) and the TLP its text states
    Column("summary", Text, nullable=False, default="", server_default=""),
    Column("tlp_hint", String(16), nullable=True),
    Index("ix_ingest_drafts_org", "org_id", "id"),
)

# The uploaded report file itself, kept with its draft and, once published, downloadable by
# whoever may see the report (`report_id`).
report_files = Table(
    "ingest_report_files",
    Base.metadata,
    Column("draft_id", Integer, ForeignKey("ingest_drafts.id"), primary_key=True),
    Column("report_id", String(128), nullable=True),
    Column("filename", String(300), nullable=False),
    Column("content_type", String(200), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("data", LargeBinary, nullable=False),
    Index("ix_ingest_report_files_report", "report_id"),
)
