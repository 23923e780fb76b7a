"""What people without an account read: published (and withdrawn) advisories, searched and
filtered by language and sector, and the page-view counters (a number per page per day; no
address, cookie or browser is ever stored)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from minga.accounts.models import Organisation
from minga.advisories import content as contents
from minga.advisories.models import Advisory, PageView
from minga.advisories.service import PUBLIC, PUBLISHED, WITHDRAWN, loads
from minga.errors import NotFound

MAX_QUERY = 200


@dataclass(frozen=True, slots=True)
class PublicAdvisory:
    """An advisory as the public sees it, in one language."""

    tracking_id: str
    status: str
    category: str
    severity: str
    lang: str  # the language its text is in (the reader's, else the first written)
    title: str
    summary: str
    what_to_do: str
    publisher: str
    published_at: datetime
    updated_at: datetime
    revision: int
    withdrawn_reason: str | None
    content: dict[str, Any]

    @property
    def withdrawn(self) -> bool:
        return self.status == WITHDRAWN


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def as_public(advisory: Advisory, publisher: str, lang: str) -> PublicAdvisory:
    body = loads(advisory)
    shown = contents.best_language(body, lang)
    text = body["texts"][shown]
    assert advisory.published_at is not None
    return PublicAdvisory(
        tracking_id=advisory.tracking_id,
        status=advisory.status,
        category=advisory.category,
        severity=advisory.severity,
        lang=shown,
        title=text["title"],
        summary=text["summary"],
        what_to_do=text["what_to_do"],
        publisher=publisher,
        published_at=_utc(advisory.published_at),
        updated_at=_utc(advisory.updated_at),
        revision=advisory.revision,
        withdrawn_reason=advisory.withdrawn_reason,
        content=body,
    )


def search(
    session: Session,
    lang: str,
    *,
    q: str = "",
    sector: str | None = None,
    only_in_lang: bool = False,
    include_withdrawn: bool = True,
    limit: int = 100,
) -> list[PublicAdvisory]:
    """Public advisories, newest first: every word of `q` must appear (in any language,
    accents ignored);
    `sector` keeps those for that sector; `only_in_lang` those written in `lang` (feeds)."""
    statuses = PUBLIC if include_withdrawn else (PUBLISHED,)
    stmt = (
        select(Advisory, Organisation.name)
        .join(Organisation, Organisation.id == Advisory.owner_org_id)
        .where(Advisory.status.in_(statuses))
    )
    words = [w for w in contents.fold(q[:MAX_QUERY]).split() if w][:10]
    if words:
        stmt = stmt.where(and_(*(Advisory.search_text.contains(w, autoescape=True) for w in words)))
    if sector:
        stmt = stmt.where(Advisory.sectors.contains(f",{sector},", autoescape=True))
    if only_in_lang:
        stmt = stmt.where(Advisory.langs.contains(f",{lang},", autoescape=True))
    stmt = stmt.order_by(Advisory.published_at.desc(), Advisory.id.desc()).limit(limit)
    return [as_public(a, publisher, lang) for a, publisher in session.execute(stmt)]


def find(session: Session, tracking_id: str, lang: str) -> PublicAdvisory:
    row = session.execute(
        select(Advisory, Organisation.name)
        .join(Organisation, Organisation.id == Advisory.owner_org_id)
        .where(Advisory.tracking_id == tracking_id, Advisory.status.in_(PUBLIC))
    ).first()
    if row is None:
        raise NotFound(f"no public advisory {tracking_id}")
    return as_public(row[0], row[1], lang)


def sectors(session: Session) -> list[str]:
    """Every sector some public advisory is for, sorted."""
    found: set[str] = set()
    for tags in session.scalars(
        select(Advisory.sectors).where(Advisory.status.in_(PUBLIC)).distinct()
    ):
        found.update(t for t in tags.split(",") if t)
    return sorted(found)


def count_view(session: Session, page: str, day: date | None = None) -> None:
    """One more view of `page` today: an upsert, so concurrent views are all counted."""
    day = day or datetime.now(UTC).date()
    page = page[:200]
    if session.get_bind().dialect.name == "postgresql":
        stmt = postgresql.insert(PageView).values(page=page, day=day, views=1)
        session.execute(
            stmt.on_conflict_do_update(
                index_elements=["page", "day"], set_={"views": PageView.views + 1}
            )
        )
        return
    lite = sqlite.insert(PageView).values(page=page, day=day, views=1)
    session.execute(
        lite.on_conflict_do_update(
            index_elements=["page", "day"], set_={"views": PageView.views + 1}
        )
    )


def views(session: Session, page: str | None = None) -> list[PageView]:
    stmt = select(PageView).order_by(PageView.day.desc(), PageView.page)
    if page is not None:
        stmt = stmt.where(PageView.page == page)
    return list(session.scalars(stmt))
