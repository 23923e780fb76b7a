"""Bounded summaries of the objects a principal may see, for dashboards and detail pages.

Everything here starts from `service.query_statement`, so the policy filter is always applied.
Counting every visible object of a million-object node costs a full scan, so summaries look at
a window of the most recent visible objects and counts stop at a cap; callers say so.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from minga.intel.models import objects
from minga.intel.queries import (
    CHUNK,
    ObjectQuery,
    StoredObject,
    one_copy_filter,
    query_statement,
    stored_object,
)
from minga.policy import Principal

WINDOW = 5_000  # most recent visible objects a dashboard summary covers
RELATIONSHIP_SCAN = 5_000  # an object's newest relationship versions looked at for its page


@dataclass(slots=True)
class Summary:
    """Counts over the `examined` most recent objects the principal may see."""

    examined: int = 0
    by_type: Counter[str] = field(default_factory=Counter)
    by_tlp: Counter[str] = field(default_factory=Counter)
    by_owner: Counter[int] = field(default_factory=Counter)


def recent_summary(
    session: Session, principal: Principal, q: ObjectQuery | None = None, *, window: int = WINDOW
) -> Summary:
    """Counts by type, TLP and owner over the newest `window` visible (latest) objects."""
    recent = (
        query_statement(principal, q or ObjectQuery())
        .with_only_columns(objects.c.type, objects.c.tlp, objects.c.owner_org_id)
        .order_by(objects.c.added_us.desc(), objects.c.pk.desc())
        .limit(window)
        .subquery()
    )
    stmt = select(recent.c.type, recent.c.tlp, recent.c.owner_org_id, func.count()).group_by(
        recent.c.type, recent.c.tlp, recent.c.owner_org_id
    )
    summary = Summary()
    for otype, tlp, owner, count in session.execute(stmt):
        summary.examined += count
        summary.by_type[otype] += count
        summary.by_tlp[tlp] += count
        summary.by_owner[owner] += count
    return summary


def capped_count(
    session: Session,
    principal: Principal,
    q: ObjectQuery,
    *,
    cap: int,
    not_owner: int | None = None,
    not_types: Sequence[str] = (),
) -> int:
    """The number of visible objects matching `q`, but at most `cap + 1` ("more than cap")."""
    stmt = query_statement(principal, q)
    if not_owner is not None:
        stmt = stmt.where(objects.c.owner_org_id != not_owner)
    if not_types:
        stmt = stmt.where(objects.c.type.not_in(list(not_types)))
    sub = (
        stmt.with_only_columns(objects.c.pk)
        .order_by(objects.c.added_us.desc(), objects.c.pk.desc())
        .limit(cap + 1)
        .subquery()
    )
    return int(session.scalar(select(func.count()).select_from(sub)) or 0)


def newest(
    session: Session,
    principal: Principal,
    q: ObjectQuery,
    *,
    limit: int = 10,
    not_owner: int | None = None,
    not_types: Sequence[str] = (),
) -> list[StoredObject]:
    """The newest visible objects matching `q`, leaving out one owner's or some types."""
    stmt = query_statement(principal, q)
    if not_owner is not None:
        stmt = stmt.where(objects.c.owner_org_id != not_owner)
    if not_types:
        stmt = stmt.where(objects.c.type.not_in(list(not_types)))
    stmt = stmt.order_by(objects.c.added_us.desc(), objects.c.pk.desc()).limit(limit)
    return [stored_object(r) for r in session.execute(stmt)]


def relationships_of(
    session: Session, principal: Principal, stix_id: str, *, limit: int = 100
) -> list[StoredObject]:
    """Visible relationships whose source_ref or target_ref is `stix_id`, newest first.

    Found through the indexed ends (`source_ref`, `target_ref`) among the object's newest
    `RELATIONSHIP_SCAN` relationship versions, then checked by the policy in a second step
    (one query would let the planner walk every visible relationship in date order)."""
    ends = (objects.c.source_ref, objects.c.target_ref)
    pks = sorted(
        {
            (added, pk)
            for end in ends
            for pk, added in session.execute(
                select(objects.c.pk, objects.c.added_us)
                .where(end == stix_id)
                .order_by(objects.c.added_us.desc())
                .limit(RELATIONSHIP_SCAN)
            )
        },
        reverse=True,
    )[:RELATIONSHIP_SCAN]
    wanted = [pk for _added, pk in pks]
    found: list[StoredObject] = []
    for start in range(0, len(wanted), CHUNK):
        # all_versions: no is_latest/type condition that could lure the planner off the pks.
        stmt = query_statement(principal, ObjectQuery(all_versions=True)).where(
            objects.c.pk.in_(wanted[start : start + CHUNK])
        )
        found.extend(o for r in session.execute(stmt) if (o := stored_object(r)).is_latest)
        if len(found) >= limit:
            break
    found.sort(key=lambda r: (r.added_us, r.pk), reverse=True)
    return found[:limit]


def visible_by_ids(
    session: Session, principal: Principal, ids: Sequence[str]
) -> list[StoredObject]:
    """The latest visible version of each of `ids`, in no particular order.

    Asks for all versions and keeps the latest in Python: with an `is_latest` condition an
    un-ANALYZEd SQLite walks the is_latest index instead of probing the id index. Of several
    copies the principal may see, only the newest version (`one_copy_filter`) is kept.
    """
    found: list[StoredObject] = []
    wanted = sorted(set(ids))
    for start in range(0, len(wanted), CHUNK):
        q = ObjectQuery(ids=wanted[start : start + CHUNK], all_versions=True, one_copy=False)
        stmt = query_statement(principal, q).where(one_copy_filter(principal, latest=True))
        found.extend(o for r in session.execute(stmt) if (o := stored_object(r)).is_latest)
    return found
