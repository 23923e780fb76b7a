"""REST of playbooks: `/api/playbooks` (shipped and shared ones; share one like intelligence)
and applying one to an incident."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from minga.api.deps import CurrentPrincipal, DbId, SessionDep, StrictDbId
from minga.incidents import playbooks, service
from minga.incidents.clock import now_from
from minga.incidents.views_work import TaskOut, task_out

router = APIRouter(tags=["incidents"])
IncidentId = Annotated[DbId, "incident id"]


def _now(request: Request) -> datetime:
    return now_from(request.app.state)


class PlaybookTaskOut(BaseModel):
    phase: str
    title: str


class PlaybookOut(BaseModel):
    key: str = Field(description="the name of a shipped playbook, or a shared one's STIX id")
    name: str
    title: str
    description: str
    classification: str
    tasks: list[PlaybookTaskOut]


def _book(book: playbooks.Playbook, lang: str) -> PlaybookOut:
    return PlaybookOut(
        key=book.key,
        name=book.name,
        title=book.title.get(lang, book.title["en"]),
        description=book.description.get(lang, book.description.get("en", "")),
        classification=book.classification,
        tasks=[PlaybookTaskOut(phase=p, title=t) for p, t in book.tasks(lang)],
    )


Lang = Annotated[str, Query(pattern="^(en|es|pt)$", description="en, es or pt")]


@router.get("/api/playbooks", response_model=list[PlaybookOut])
def list_playbooks(
    session: SessionDep, principal: CurrentPrincipal, lang: Lang = "en"
) -> list[PlaybookOut]:
    """The shipped playbooks and those shared in the store that you may see."""
    return [_book(b, lang) for b in playbooks.available(session, principal).values()]


class ShareIn(BaseModel):
    playbook: dict[str, Any] = Field(description="name, title, description, classification, phases")
    tlp: str = Field(default="green", max_length=20)
    reach: str = Field(default="community", description="organisation ... federation")
    group_ids: list[StrictDbId] = Field(default_factory=list, max_length=50)


@router.post("/api/playbooks", response_model=PlaybookOut, status_code=201)
def share_playbook(
    body: ShareIn, request: Request, session: SessionDep, principal: CurrentPrincipal
) -> PlaybookOut:
    """Share a playbook like intelligence (TLP, reach, sharing groups, federation)."""
    from minga.intel.service import parse_reach

    stix_id = playbooks.share_playbook(
        session, principal, body.playbook, tlp=service.parse_tlp(body.tlp),
        reach=parse_reach(body.reach), group_ids=body.group_ids, at=_now(request),
    )  # fmt: skip
    out = _book(playbooks.get_playbook(stix_id, session, principal), "en")
    session.commit()
    return out


@router.get("/api/playbooks/{name}", response_model=PlaybookOut)
def show_playbook(
    name: Annotated[str, "playbook name or STIX id"],
    session: SessionDep,
    principal: CurrentPrincipal,
    lang: Lang = "en",
) -> PlaybookOut:
    return _book(playbooks.get_playbook(name, session, principal), lang)


class ApplyIn(BaseModel):
    playbook: str = Field(max_length=100)
    lang: str = Field(default="en", pattern="^(en|es|pt)$")


@router.post("/api/incidents/{incident_id}/playbook", response_model=list[TaskOut], status_code=201)
def apply_playbook(
    incident_id: IncidentId,
    body: ApplyIn,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> list[TaskOut]:
    """Apply a playbook: its tasks are added to the incident."""
    made = playbooks.apply_playbook(
        session, principal, incident_id, body.playbook, body.lang, at=_now(request)
    )
    out = [task_out(t) for t in made]
    session.commit()
    return out
