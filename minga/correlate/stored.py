"""What the object store calls after every write (in the same transaction): sightings get
their counting row, and indicators with a new version or a new sighting get a new score.

Every path that stores objects (REST, TAXII, ingest, the web forms, federation) goes through
`minga.intel.service.create_objects`, so sightings from members, sensors and federated nodes
are all counted here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from minga.correlate import scores
from minga.correlate.score_models import sightings
from minga.intel.copies import chunks
from minga.intel.models import latest_flag, object_groups, objects
from minga.intel.stix import ts_to_us
from minga.policy import Principal, Role, exercise_of, visible_filter

MAX_COUNT = 999_999_999  # STIX 2.1: a sighting's count is 0 to 999,999,999
FALSE_POSITIVE = "x_minga_false_positive"
ANONYMOUS = "x_minga_anonymous"


def observer_of(principal: Principal, origin_node: str | None) -> str:
    if origin_node is not None:
        return "federation"
    return "sensor" if principal.role is Role.MACHINE else "member"


def _us(value: Any, fallback: int) -> int:
    if isinstance(value, str):
        try:
            return ts_to_us(value)
        except ValueError:
            return fallback
    return fallback


def sighting_row(obj: dict[str, Any], org_id: int, observer: str) -> dict[str, Any]:
    modified = _us(obj.get("modified"), 0)
    count = obj.get("count", 1)
    if not isinstance(count, int) or isinstance(count, bool):
        count = 1
    first = _us(obj.get("first_seen"), _us(obj.get("created"), modified))
    return {
        "sighting_id": obj["id"],
        "org_id": org_id,
        "sighting_of_ref": str(obj["sighting_of_ref"])[:128],
        "count": max(0, min(count, MAX_COUNT)),
        "first_seen_us": first,
        "last_seen_us": _us(obj.get("last_seen"), max(first, modified)),
        "false_positive": obj.get(FALSE_POSITIVE) is True,
        "anonymous": obj.get(ANONYMOUS) is True,
        "observer": observer,
    }


def after_store(
    session: Session,
    principal: Principal,
    written: Sequence[dict[str, Any]],
    newest: dict[str, int],
    origin_node: str | None,
) -> None:
    """`written`: the objects just stored; `newest`: id → µs of each id's version that became
    the writer's latest copy (older versions arriving late leave the score alone)."""
    rows: list[dict[str, Any]] = []
    changed: dict[str, dict[str, Any]] = {}
    sighted: set[str] = set()
    observer = observer_of(principal, origin_node)
    for obj in written:
        kind = obj["type"]
        if kind not in ("indicator", "sighting") or exercise_of(obj) is not None:
            continue
        if newest.get(obj["id"]) != ts_to_us(obj["modified"]):
            continue  # an older version arriving late: the newest one stands
        if kind == "indicator":
            changed[obj["id"]] = obj
        elif isinstance(obj.get("sighting_of_ref"), str):
            rows.append(sighting_row(obj, principal.org_id, observer))
            sighted.add(obj["sighting_of_ref"])
    if rows and origin_node is None:
        # A member counts only what it may see (a sighting of a hidden or unknown id is kept
        # as the object it sent, and counts nowhere). A federated node's sightings are of
        # versions it was sent: its organisations see nothing here by the ordinary paths.
        seen = _visible(session, principal, sighted)
        rows = [r for r in rows if r["sighting_of_ref"] in seen]
        sighted &= seen
    if rows:
        for chunk in chunks([r["sighting_id"] for r in rows]):
            session.execute(
                delete(sightings).where(
                    sightings.c.org_id == principal.org_id, sightings.c.sighting_id.in_(chunk)
                )
            )
        session.execute(insert(sightings), rows)
    if changed or sighted:
        # Indicators written by another copy-holder keep the newest version of any copy.
        scores.recompute(
            session, {*changed, *sighted}, written=changed, writer_org_id=principal.org_id
        )


def _visible(session: Session, principal: Principal, ids: set[str]) -> set[str]:
    found: set[str] = set()
    for chunk in chunks(sorted(ids)):
        found.update(
            session.scalars(
                select(objects.c.stix_id).where(
                    objects.c.stix_id.in_(list(chunk)),
                    latest_flag(objects),
                    visible_filter(principal, objects, object_groups),
                )
            )
        )
    return found


def after_delete(session: Session, principal: Principal, stix_id: str, gone: bool) -> None:
    """After versions of `stix_id` of the principal's organisation were deleted (`gone`: all of
    them): its sighting row goes with it, and the scores it touched are recomputed."""
    refs = set(
        session.scalars(
            select(sightings.c.sighting_of_ref).where(
                sightings.c.sighting_id == stix_id, sightings.c.org_id == principal.org_id
            )
        )
    )
    if gone and refs:
        session.execute(
            delete(sightings).where(
                sightings.c.sighting_id == stix_id, sightings.c.org_id == principal.org_id
            )
        )
    scores.recompute(session, {stix_id, *refs})
