"""Audit log: every write records who did what to which thing, in the same transaction."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import DateTime, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from minga.db import Base
from minga.policy import Principal, audit_filter


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    user_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    org_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # The organisation the target belongs to, when it is not the actor's (audit filter).
    subject_org_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    target_type: Mapped[str] = mapped_column(String(64))
    target_id: Mapped[str] = mapped_column(String(200))
    detail: Mapped[str] = mapped_column(Text, default="{}")


def record(
    session: Session,
    actor: Principal | None,
    action: str,
    target_type: str,
    target_id: str | int,
    *,
    subject_org_id: int | None = None,
    **detail: Any,
) -> None:
    session.add(
        AuditEntry(
            at=datetime.now(UTC),
            user_id=actor.user_id if actor else None,
            org_id=actor.org_id if actor else None,
            subject_org_id=subject_org_id,
            action=action,
            target_type=target_type,
            target_id=str(target_id),
            detail=orjson.dumps(detail, default=str).decode(),
        )
    )


def recent(
    session: Session, reader: Principal | None = None, *, limit: int = 100, offset: int = 0
) -> list[AuditEntry]:
    """Newest entries first; with a `reader`, only those the policy lets it read."""
    stmt = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit).offset(offset)
    if reader is not None:
        from minga.intel.models import object_groups, objects

        table = AuditEntry.__table__
        stmt = stmt.where(audit_filter(reader, table, objects, object_groups))
    return list(session.scalars(stmt))
