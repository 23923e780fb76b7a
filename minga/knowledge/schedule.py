"""Scheduled updates: while the node serves, each source loaded from a URL is loaded again from
it once its release is older than `knowledge_update_hours` (sources loaded from files are left
alone: the node may have no internet)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from minga.background import Periodic
from minga.db import unit_of_work
from minga.errors import MingaError
from minga.knowledge import service
from minga.knowledge.models import Release

log = logging.getLogger("minga.knowledge")
CHECK_SECONDS = 600.0


def _source(release: str) -> str:
    return (
        "attack"
        if release.startswith("attack-")
        else ("misp-taxonomies" if release.startswith("misp-") else release)
    )


def due(session: Session, every: timedelta, now: datetime) -> list[tuple[str, str]]:
    """(source, URL) of each URL-loaded release older than `every`, each once."""
    found: dict[tuple[str, str], None] = {}
    for row in session.scalars(select(Release).order_by(Release.source)):
        loaded = row.loaded_at if row.loaded_at.tzinfo else row.loaded_at.replace(tzinfo=UTC)
        if row.location.startswith(("http://", "https://")) and loaded + every <= now:
            found[(_source(row.source), row.location)] = None
    return list(found)


def run_due(
    sessions: sessionmaker[Session], every: timedelta, now: datetime | None = None
) -> dict[str, str]:
    """Load again what is due; a failing source is logged and the others still load."""
    with sessions() as s:
        pending = due(s, every, now or datetime.now(UTC))
    outcomes: dict[str, str] = {}
    for source, url in pending:
        try:
            with unit_of_work(sessions) as s:
                done = service.update(s, source, url)
            outcomes[url] = "; ".join(d.summary() for d in done)
        except MingaError as exc:
            log.warning("scheduled update of %s from %s failed: %s", source, url, exc.message)
            outcomes[url] = f"failed: {exc.message}"
    return outcomes


def scheduler(sessions: sessionmaker[Session], hours: int) -> Periodic:
    every = timedelta(hours=hours)
    return Periodic("knowledge-updates", CHECK_SECONDS, lambda: run_due(sessions, every))
