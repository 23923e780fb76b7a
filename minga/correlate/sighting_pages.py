"""Web side of sightings: the object page's "Sightings and score" panel and its
"I saw this too" form."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from sqlalchemy.orm import Session

from minga.accounts import service as accounts
from minga.api.deps import DB_ID_MAX
from minga.correlate import scores, sightings
from minga.errors import InvalidInput
from minga.intel.service import StoredObject
from minga.policy import Action, Principal, Reach, Tlp, may
from minga.web.render import Page, PageRoute, redirect

router = APIRouter(route_class=PageRoute, include_in_schema=False)


def panel(session: Session, principal: Principal, item: StoredObject) -> dict[str, Any]:
    """What the object page shows of an object's sightings and score."""
    found = scores.score_of(session, [item.stix_id]).get(item.stix_id)
    return {
        "score": found,
        "expired": found is not None and found.expired(),
        "summary": sightings.summary(session, principal, item.stix_id),
        "listed": sightings.listing(session, principal, item.stix_id),
        "can_sight": item.type not in ("relationship", "sighting")
        and "--" in item.stix_id
        and may(principal, Action.PUBLISH),
        "tlps": [t.value for t in Tlp],
        "reaches": [r.value for r in Reach],
        "default_tlp": item.tlp.value,
        "share_groups": accounts.groups_to_share_with(session, principal),
    }


def list_scores(session: Session, stix_ids: list[str]) -> dict[str, scores.Score]:
    """Scores of the indicators on a list page (the caller sees those objects)."""
    return scores.score_of(session, stix_ids)


def _count(value: str) -> int:
    if not value:
        return 1
    if not value.isdigit():
        raise InvalidInput("the number of times seen must be a whole number from 1")
    return int(value)


def _groups(values: list[str]) -> list[int]:
    """Sharing-group ids from the form; the store checks the organisation belongs to each."""
    if not all(v.isdigit() and 0 < int(v) <= DB_ID_MAX for v in values):
        raise InvalidInput("choose sharing groups from the list")
    return [int(v) for v in values]


@router.post("/objects/{stix_id}/sightings")
def add_sighting(ctx: Page, stix_id: str) -> Response:
    tlp = ctx.field("tlp")
    reach = ctx.field("reach", "community")
    try:
        level = Tlp(tlp) if tlp else None
        how_far = Reach(reach)
    except ValueError:
        raise InvalidInput("choose a TLP level and how far the sighting may travel") from None
    sightings.record(
        ctx.session,
        ctx.me,
        stix_id,
        count=_count(ctx.field("count")),
        first_seen=ctx.field("first_seen") or None,
        last_seen=ctx.field("last_seen") or None,
        false_positive=ctx.field("false_positive") == "1",
        anonymous=ctx.field("anonymous") == "1",
        tlp=level,
        reach=how_far,
        group_ids=_groups(ctx.fields("group")),
        note=ctx.field("note")[:4000],
    )
    ctx.session.commit()
    return redirect(ctx, f"/objects/{stix_id}?sighted=1#sightings")
