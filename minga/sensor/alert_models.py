"""The node's table of sensor alerts: what a member's sensor found that no indicator names,
kept for its organisation's analysts to review (turn into an indicator or an incident, or
dismiss with a reason)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from minga.db import Base

STATUSES = ("open", "indicator", "incident", "dismissed")


class SensorAlert(Base):
    __tablename__ = "sensor_alerts"
    __table_args__ = (
        # The sensor's own id for the alert: a re-send after a crash is recognised, not doubled.
        UniqueConstraint("org_id", "client_id", name="uq_sensor_alerts_org_id_client_id"),
        Index("ix_sensor_alerts_org_status", "org_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    client_id: Mapped[str] = mapped_column(String(64))
    reported_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    detector: Mapped[str] = mapped_column(String(64))
    score: Mapped[float] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(String(300), nullable=True)
    destination: Mapped[str | None] = mapped_column(String(300), nullable=True)
    count: Mapped[int] = mapped_column(Integer)
    features: Mapped[str] = mapped_column(Text)  # JSON object name → number
    evidence: Mapped[str] = mapped_column(Text)  # JSON object
    first_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(16))  # one of STATUSES
    decided_by: Mapped[int | None] = mapped_column(Integer, nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    decision_note: Mapped[str] = mapped_column(Text, default="")
    # What the alert became: an indicator's STIX id, or an incident's number.
    result_ref: Mapped[str | None] = mapped_column(String(128), nullable=True)
