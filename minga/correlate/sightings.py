""" "I saw this too": recording sightings, and what a caller may know of an object's sightings.

A sighting is a STIX 2.1 `sighting` object stored through the object store with its own TLP,
reach and sharing groups: `sighting_of_ref` the object seen, `count`, `first_seen`,
`last_seen`, `where_sighted_refs` the sighting organisation's identity. Two Minga properties:
`x_minga_false_positive: true` (MISP's sighting type 1: "this is a false positive here"), and
`x_minga_anonymous: true` (counted, not attributed: no `where_sighted_refs`, stored with reach
`organisation` so only its organisation sees the object; see `minga.policy`).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from minga.accounts.models import Organisation
from minga.correlate.score_models import sightings
from minga.correlate.stored import ANONYMOUS, FALSE_POSITIVE, MAX_COUNT
from minga.errors import InvalidInput
from minga.intel import service as intel
from minga.intel.models import latest_flag, object_groups, objects
from minga.intel.service import StoredObject
from minga.intel.stix import SCO_TYPES, now_ts, ts_to_us, us_to_ts
from minga.policy import (
    Marking,
    Principal,
    Reach,
    Tlp,
    may_know_sighter,
    sighting_count_filter,
)

LISTED = 200  # sightings listed on a page or in one answer (the counts cover all of them)


@dataclass(frozen=True, slots=True)
class Summary:
    """An object's sightings as one caller may count them."""

    sightings: int  # the summed counts of true-positive sightings
    false_positives: int
    organisations: int  # distinct organisations that saw it (anonymous ones included)
    anonymous: int  # how many of the sightings are anonymous
    last_seen_us: int | None
    mine: int  # sightings made by the caller's organisation

    def as_json(self) -> dict[str, Any]:
        return {
            "sightings": self.sightings,
            "false_positives": self.false_positives,
            "organisations": self.organisations,
            "anonymous": self.anonymous,
            "last_seen": us_to_ts(self.last_seen_us) if self.last_seen_us else None,
            "mine": self.mine,
        }


@dataclass(frozen=True, slots=True)
class SightingView:
    sighting_id: str
    organisation: str | None  # None: not for this caller to know
    country: str | None
    count: int
    first_seen_us: int
    last_seen_us: int
    false_positive: bool
    anonymous: bool
    observer: str
    tlp: str
    mine: bool

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.sighting_id,
            "organisation": self.organisation,
            "country": self.country,
            "count": self.count,
            "first_seen": us_to_ts(self.first_seen_us),
            "last_seen": us_to_ts(self.last_seen_us),
            "false_positive": self.false_positive,
            "anonymous": self.anonymous,
            "observer": self.observer,
            "tlp": self.tlp,
            "mine": self.mine,
        }


def _timestamp(value: str | None, name: str) -> str | None:
    if value is None or value == "":
        return None
    try:
        return us_to_ts(ts_to_us(value))
    except ValueError:
        raise InvalidInput(f"{name} must be a timestamp such as 2024-01-31T12:00:00Z") from None


def record(
    session: Session,
    principal: Principal,
    stix_id: str,
    *,
    count: int = 1,
    first_seen: str | None = None,
    last_seen: str | None = None,
    false_positive: bool = False,
    anonymous: bool = False,
    tlp: Tlp | None = None,
    reach: Reach = Reach.COMMUNITY,
    group_ids: Sequence[int] = (),
    note: str = "",
) -> StoredObject:
    """Store a sighting of `stix_id` (an object the principal may see) by its organisation.

    Its TLP defaults to the sighted object's. An anonymous sighting has no
    `where_sighted_refs` and stays with its organisation (reach `organisation`, no groups)."""
    target = intel.get_object(session, principal, stix_id)  # unknown and hidden: one answer
    if target.type in SCO_TYPES or target.type in ("relationship", "sighting"):
        raise InvalidInput("a sighting names a domain object (an indicator, malware, ...)")
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_COUNT:
        raise InvalidInput(f"count must be a whole number from 1 to {MAX_COUNT}")
    ts = now_ts()
    first = _timestamp(first_seen, "first_seen")
    last = _timestamp(last_seen, "last_seen") or (ts if first is None else None)
    if first is not None and last is not None and ts_to_us(last) < ts_to_us(first):
        raise InvalidInput("last_seen must not be earlier than first_seen")
    obj: dict[str, Any] = {
        "type": "sighting",
        "spec_version": "2.1",
        "id": f"sighting--{uuid.uuid4()}",
        "created": ts,
        "modified": ts,
        "sighting_of_ref": stix_id,
        "count": count,
    }
    if first is not None:
        obj["first_seen"] = first
    if last is not None:
        obj["last_seen"] = last
    if note.strip():
        obj["description"] = note.strip()[:4000]
    if false_positive:
        obj[FALSE_POSITIVE] = True
    if anonymous:
        obj[ANONYMOUS] = True
        reach, group_ids = Reach.ORGANISATION, ()
    else:
        obj["where_sighted_refs"] = [principal.identity_ref]
    intel.create_objects(
        session, principal, [obj], tlp=tlp or target.tlp, reach=reach, group_ids=group_ids
    )
    return intel.get_object(session, principal, obj["id"])


def _counted(principal: Principal, stix_id: str) -> Any:
    """Live sightings of `stix_id` that count for `principal` (rows joined to their object)."""
    return (
        select()
        .select_from(
            sightings.join(
                objects,
                (objects.c.stix_id == sightings.c.sighting_id)
                & (objects.c.owner_org_id == sightings.c.org_id)
                & latest_flag(objects),
            ).join(Organisation, Organisation.id == sightings.c.org_id)
        )
        .where(
            sightings.c.sighting_of_ref == stix_id,
            objects.c.revoked.is_(False),
            sighting_count_filter(principal, sightings, objects, object_groups),
        )
    )


def summary(session: Session, principal: Principal, stix_id: str) -> Summary:
    """The counts of `stix_id`'s sightings the caller may count (call it only for an object the
    caller may see: anonymous sightings count for whoever sees what they sighted)."""
    query = _counted(principal, stix_id).add_columns(
        sightings.c.false_positive,
        sightings.c.anonymous,
        sightings.c.org_id,
        func.sum(sightings.c.count),
        func.count(),
        func.max(sightings.c.last_seen_us),
    )
    query = query.group_by(sightings.c.false_positive, sightings.c.anonymous, sightings.c.org_id)
    seen = fps = anonymous = mine = 0
    orgs: set[int] = set()
    last: int | None = None
    for fp, anon, org_id, total, rows, last_seen in session.execute(query):
        if org_id == principal.org_id:
            mine += rows
        if fp:
            fps += int(total or 0)
            continue
        seen += int(total or 0)
        orgs.add(org_id)
        anonymous += rows if anon else 0
        last = max(last or 0, last_seen or 0) or None
    return Summary(seen, fps, len(orgs), anonymous, last, mine)


def listing(session: Session, principal: Principal, stix_id: str) -> list[SightingView]:
    """The newest sightings of `stix_id` the caller may count, with who made each one where
    the caller may know it (`policy.may_know_sighter`)."""
    query = (
        _counted(principal, stix_id)
        .add_columns(
            sightings,
            objects.c.pk,
            objects.c.tlp,
            objects.c.reach,
            objects.c.owner_org_id,
            Organisation.name,
            Organisation.country,
        )
        .order_by(sightings.c.last_seen_us.desc(), sightings.c.sighting_id)
        .limit(LISTED)
    )
    rows = session.execute(query).mappings().all()
    groups: dict[int, set[int]] = defaultdict(set)
    pks = [r["pk"] for r in rows]
    if pks:
        for pk, gid in session.execute(
            select(object_groups.c.object_pk, object_groups.c.group_id).where(
                object_groups.c.object_pk.in_(pks)
            )
        ):
            groups[pk].add(gid)
    out = []
    for r in rows:
        marking = Marking(
            owner_org_id=r["owner_org_id"],
            tlp=Tlp(r["tlp"]),
            reach=Reach(r["reach"]),
            group_ids=frozenset(groups[r["pk"]]),
        )
        known = may_know_sighter(principal, marking, anonymous=r["anonymous"])
        out.append(
            SightingView(
                sighting_id=r["sighting_id"] if known else "",
                organisation=r["name"] if known else None,
                country=r["country"] if known else None,
                count=r["count"],
                first_seen_us=r["first_seen_us"],
                last_seen_us=r["last_seen_us"],
                false_positive=bool(r["false_positive"]),
                anonymous=bool(r["anonymous"]),
                observer=r["observer"] if known else "",
                tlp=r["tlp"] if known else "",
                mine=r["org_id"] == principal.org_id,
            )
        )
    return out


def counts_of(session: Session, stix_ids: Sequence[str]) -> dict[str, int]:
    """Node-wide sighting counts for a list page (those that count for everyone)."""
    from minga.correlate.scores import public_sightings

    found = public_sightings(session, list(stix_ids)[:1000])
    return {sid: sum(s.count for s in seen if not s.false_positive) for sid, seen in found.items()}
