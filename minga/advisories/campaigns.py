"""Awareness campaigns: a theme for a period ("phishing in tax season"), short tips and the
public advisories that go with it, shown on a landing page. Coordinators make them."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from minga import audit
from minga.accounts.checks import require
from minga.advisories.models import Advisory, Campaign
from minga.advisories.service import PUBLIC
from minga.errors import Conflict, InvalidInput, NotFound
from minga.policy import Action, Principal, Target
from minga.web.i18n import LANGUAGES

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,79}$")
MAX_TIPS = 20


def _texts(value: Any) -> dict[str, dict[str, Any]]:
    if not isinstance(value, dict) or not value:
        raise InvalidInput("texts must give the campaign in at least one of es, pt, en")
    texts: dict[str, dict[str, Any]] = {}
    for lang, text in value.items():
        if lang not in LANGUAGES or not isinstance(text, dict):
            raise InvalidInput(f"texts: {lang!r} must be one of {', '.join(LANGUAGES)}")
        title = str(text.get("title") or "").strip()
        theme = str(text.get("theme") or "").strip()
        tips = [str(t).strip() for t in text.get("tips") or [] if str(t).strip()]
        if not title or len(title) > 200:
            raise InvalidInput(f"texts.{lang}.title must be 1 to 200 characters")
        if not theme or len(theme) > 4000:
            raise InvalidInput(f"texts.{lang}.theme must be 1 to 4000 characters")
        if len(tips) > MAX_TIPS or any(len(t) > 500 for t in tips):
            raise InvalidInput(f"texts.{lang}.tips: at most {MAX_TIPS} tips of 500 characters")
        texts[lang] = {"title": title, "theme": theme, "tips": tips}
    return texts


def create(
    session: Session,
    principal: Principal,
    *,
    slug: str,
    starts_on: date,
    ends_on: date,
    texts: dict[str, Any],
    advisories: list[str],
) -> Campaign:
    require(principal, Action.PUBLISH_ADVISORY, Target(org_id=principal.org_id))
    if not SLUG_RE.match(slug):
        raise InvalidInput("slug must be lower-case letters, digits and dashes (e.g. tax-phishing)")
    if ends_on < starts_on:
        raise InvalidInput("ends_on must not be before starts_on")
    if session.scalar(select(Campaign.id).where(Campaign.slug == slug)) is not None:
        raise Conflict(f"a campaign {slug!r} already exists")
    public = set(
        session.scalars(
            select(Advisory.tracking_id).where(
                Advisory.tracking_id.in_(advisories), Advisory.status.in_(PUBLIC)
            )
        )
    )
    missing = [a for a in advisories if a not in public]
    if missing:
        raise InvalidInput(f"advisories: no published advisory {', '.join(missing)}")
    campaign = Campaign(
        slug=slug,
        owner_org_id=principal.org_id,
        starts_on=starts_on,
        ends_on=ends_on,
        content=orjson.dumps({"texts": _texts(texts)}).decode(),
        advisory_ids=orjson.dumps(list(dict.fromkeys(advisories))).decode(),
        published=True,
        created_by=principal.user_id,
        created_at=datetime.now(UTC),
    )
    session.add(campaign)
    session.flush()
    audit.record(session, principal, "campaign.create", "campaign", slug)
    return campaign


def find(session: Session, slug: str) -> Campaign:
    campaign = session.scalar(
        select(Campaign).where(Campaign.slug == slug, Campaign.published.is_(True))
    )
    if campaign is None:
        raise NotFound(f"no campaign {slug}")
    return campaign


def current(session: Session, today: date | None = None) -> list[Campaign]:
    """Campaigns running today, the soonest to end first."""
    today = today or datetime.now(UTC).date()
    return list(
        session.scalars(
            select(Campaign)
            .where(
                Campaign.published.is_(True),
                Campaign.starts_on <= today,
                Campaign.ends_on >= today,
            )
            .order_by(Campaign.ends_on, Campaign.id)
        )
    )


def every(session: Session) -> list[Campaign]:
    return list(session.scalars(select(Campaign).order_by(Campaign.starts_on.desc())))


def texts_of(campaign: Campaign, lang: str) -> tuple[str, dict[str, Any]]:
    texts: dict[str, Any] = orjson.loads(campaign.content)["texts"]
    shown = lang if lang in texts else next(iter(texts))
    return shown, texts[shown]


def advisory_ids(campaign: Campaign) -> list[str]:
    ids: list[str] = orjson.loads(campaign.advisory_ids)
    return ids
