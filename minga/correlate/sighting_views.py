"""REST of sightings and scores.

- `POST /api/objects/{id}/sightings`: "I saw this too" (count, first/last seen, false positive,
  anonymous, TLP, reach, sharing groups, a note); answers the stored STIX sighting, the counts
  the caller may see and the indicator's score.
- `GET /api/objects/{id}/sightings`: those counts and the newest sightings the caller may count,
  with who made each one where the caller may know it.
- `GET /api/scores?id=...`: scores of indicators the caller may see.

While the node serves, scores are recomputed as they age every `MINGA_SCORE_REFRESH_SECONDS`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, nullcontext
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, FastAPI, Query, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session, sessionmaker

from minga.api.deps import DB_ID_MAX, CurrentPrincipal, SessionDep
from minga.background import Periodic
from minga.correlate import scores, sightings
from minga.db import unit_of_work
from minga.intel import service as intel
from minga.policy import Principal


def refresher(sessions: sessionmaker[Session], seconds: float) -> Periodic:
    def run() -> None:
        with unit_of_work(sessions) as session:
            scores.refresh(session)

    return Periodic("score-refresh", seconds, run)


@asynccontextmanager
async def score_loop(app: FastAPI) -> AsyncIterator[None]:
    node = app.state.node
    scores.configure_from(node.settings)
    seconds = node.settings.score_refresh_seconds
    with refresher(node.sessions, seconds) if seconds > 0 else nullcontext():
        yield


router = APIRouter(tags=["sightings"], lifespan=score_loop)


class SightingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    count: int = Field(default=1, ge=1, le=999_999_999)
    first_seen: str | None = None
    last_seen: str | None = None
    false_positive: bool = False
    anonymous: bool = False
    tlp: str | None = Field(default=None, description="default: the sighted object's TLP")
    reach: str | None = Field(default=None, description="default: community")
    groups: list[Annotated[int, Field(ge=1, le=DB_ID_MAX)]] = Field(default_factory=list)
    note: str = Field(default="", max_length=4000)


def _json(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def sighting_facts(session: Session, principal: Principal, stix_id: str) -> dict[str, Any]:
    """What a caller who sees `stix_id` may know of its sightings and score."""
    score = scores.score_of(session, [stix_id]).get(stix_id)
    return {
        "summary": sightings.summary(session, principal, stix_id).as_json(),
        "score": score.as_json() if score else None,
    }


@router.post(
    "/api/objects/{stix_id}/sightings",
    status_code=201,
    summary='Record a sighting of an object you may see ("I saw this too")',
)
async def add_sighting(
    stix_id: str, body: SightingIn, session: SessionDep, principal: CurrentPrincipal
) -> Response:
    def store() -> dict[str, Any]:
        found = sightings.record(
            session,
            principal,
            stix_id,
            count=body.count,
            first_seen=body.first_seen,
            last_seen=body.last_seen,
            false_positive=body.false_positive,
            anonymous=body.anonymous,
            tlp=intel.parse_tlp(body.tlp),
            reach=intel.parse_reach(body.reach),
            group_ids=body.groups,
            note=body.note,
        )
        session.commit()
        return {"sighting": found.object(), **sighting_facts(session, principal, stix_id)}

    return _json(await run_in_threadpool(store), 201)


@router.get(
    "/api/objects/{stix_id}/sightings",
    summary="Sighting counts and the newest sightings of an object that you may count",
)
def list_sightings(stix_id: str, session: SessionDep, principal: CurrentPrincipal) -> Response:
    intel.get_object(session, principal, stix_id)  # unknown and hidden: the same 404
    listed = sightings.listing(session, principal, stix_id)
    return _json(
        {
            **sighting_facts(session, principal, stix_id),
            "sightings": [s.as_json() for s in listed],
        }
    )


@router.get("/api/scores", summary="Scores of indicators you may see (repeat id)")
def get_scores(
    session: SessionDep,
    principal: CurrentPrincipal,
    id: Annotated[list[str], Query(max_length=500, description="indicator id (repeat)")],
) -> Response:
    query = intel.ObjectQuery(ids=id[:500])
    visible = {o.stix_id for o in intel.list_objects(session, principal, query, limit=500).items}
    found = scores.score_of(session, visible)
    return _json({"scores": {sid: s.as_json() for sid, s in sorted(found.items())}})
