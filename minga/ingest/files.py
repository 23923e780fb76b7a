"""The original report files: kept with their draft, then served with the published report to
whoever may see it (the report's visibility is the file's, decided in `minga.policy`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from minga.errors import NotFound
from minga.ingest.models import drafts, report_files
from minga.intel.queries import get_object
from minga.policy import Principal

GENERIC_TYPE = "application/octet-stream"


@dataclass(frozen=True, slots=True)
class Original:
    filename: str
    content_type: str
    data: bytes


def keep(
    session: Session, draft_id: int, data: bytes, filename: str, content_type: str | None
) -> None:
    session.execute(
        insert(report_files).values(
            draft_id=draft_id,
            filename=filename[:300],
            content_type=(content_type or GENERIC_TYPE)[:200],
            size=len(data),
            data=data,
        )
    )


def held(session: Session, draft_ids: Sequence[int]) -> set[int]:
    """Which of these drafts have their original file kept."""
    if not draft_ids:
        return set()
    found = session.scalars(
        select(report_files.c.draft_id).where(report_files.c.draft_id.in_(list(draft_ids)))
    )
    return set(found)


def drop(session: Session, draft_id: int) -> None:
    session.execute(delete(report_files).where(report_files.c.draft_id == draft_id))


def published(session: Session, draft_id: int, report_id: str) -> None:
    session.execute(
        update(report_files).where(report_files.c.draft_id == draft_id).values(report_id=report_id)
    )


def _original(session: Session, *where: object) -> Original:
    row = session.execute(
        select(report_files.c.filename, report_files.c.content_type, report_files.c.data).where(
            *where  # type: ignore[arg-type]
        )
    ).first()
    if row is None:
        raise NotFound("no original file is kept for it")
    return Original(row.filename, row.content_type, bytes(row.data))


def of_draft(session: Session, principal: Principal, draft_id: int) -> Original:
    """The file of one of the principal's organisation's drafts."""
    mine = select(drafts.c.id).where(drafts.c.id == draft_id, drafts.c.org_id == principal.org_id)
    if session.scalar(mine) is None:
        raise NotFound(f"no draft {draft_id} of your organisation")
    return _original(session, report_files.c.draft_id == draft_id)


def of_report(session: Session, principal: Principal, report_id: str) -> Original:
    """The file a published report was read from, for whoever may see the report."""
    get_object(session, principal, report_id)  # NotFound unless the principal may see it
    return _original(session, report_files.c.report_id == report_id)


def reports_with_files(session: Session, report_ids: Sequence[str]) -> set[str]:
    if not report_ids:
        return set()
    found = session.scalars(
        select(report_files.c.report_id).where(report_files.c.report_id.in_(list(report_ids)))
    )
    return {r for r in found if r}
