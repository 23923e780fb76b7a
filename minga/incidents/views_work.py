"""REST of the work on an incident: tasks, comments, attachments (served only as downloads)
and linked records of the intel store."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from minga.api.deps import CurrentPrincipal, DbId, NodeDep, SessionDep, StrictDbId, UtcDatetime
from minga.errors import InvalidInput
from minga.incidents import work
from minga.incidents.clock import now_from
from minga.incidents.models import Attachment, Comment, Record, Task

router = APIRouter(tags=["incidents"])
IncidentId = Annotated[DbId, "incident id"]


class TaskIn(BaseModel):
    title: str = Field(min_length=1, max_length=300)
    phase: str = Field(default="", max_length=40)
    assignee_id: StrictDbId | None = None
    org_id: StrictDbId | None = Field(default=None, description="default: the assignee's or yours")
    due_at: UtcDatetime | None = None


class TaskOut(BaseModel):
    id: int
    incident_id: int
    title: str
    phase: str
    status: str
    assignee_id: int | None
    org_id: int
    due_at: UtcDatetime | None
    created_at: UtcDatetime
    done_at: UtcDatetime | None


def task_out(t: Task) -> TaskOut:
    return TaskOut(
        id=t.id,
        incident_id=t.incident_id,
        title=t.title,
        phase=t.phase,
        status=t.status,
        assignee_id=t.assignee_id,
        org_id=t.org_id,
        due_at=t.due_at,
        created_at=t.created_at,
        done_at=t.done_at,
    )


@router.get("/api/incidents/{incident_id}/tasks", response_model=list[TaskOut])
def list_tasks(
    incident_id: IncidentId, session: SessionDep, principal: CurrentPrincipal
) -> list[TaskOut]:
    return [task_out(t) for t in work.tasks_of(session, principal, incident_id)]


@router.post("/api/incidents/{incident_id}/tasks", response_model=TaskOut, status_code=201)
def add_task(
    incident_id: IncidentId,
    body: TaskIn,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> TaskOut:
    task = work.add_task(
        session, principal, incident_id, **body.model_dump(), at=now_from(request.app.state)
    )
    out = task_out(task)
    session.commit()
    return out


class TaskDoneIn(BaseModel):
    done: bool


@router.post("/api/incidents/tasks/{task_id}/done", response_model=TaskOut)
def set_task_done(
    task_id: DbId,
    body: TaskDoneIn,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> TaskOut:
    task = work.set_task_done(
        session, principal, task_id, body.done, at=now_from(request.app.state)
    )
    out = task_out(task)
    session.commit()
    return out


class CommentIn(BaseModel):
    body: str = Field(min_length=1, max_length=20_000)


class CommentOut(BaseModel):
    id: int
    user_id: int
    org_id: int
    at: UtcDatetime
    body: str


def _comment(c: Comment) -> CommentOut:
    return CommentOut(id=c.id, user_id=c.user_id, org_id=c.org_id, at=c.at, body=c.body)


@router.get("/api/incidents/{incident_id}/comments", response_model=list[CommentOut])
def list_comments(
    incident_id: IncidentId, session: SessionDep, principal: CurrentPrincipal
) -> list[CommentOut]:
    return [_comment(c) for c in work.comments_of(session, principal, incident_id)]


@router.post("/api/incidents/{incident_id}/comments", response_model=CommentOut, status_code=201)
def add_comment(
    incident_id: IncidentId,
    body: CommentIn,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> CommentOut:
    c = work.add_comment(session, principal, incident_id, body.body, at=now_from(request.app.state))
    out = _comment(c)
    session.commit()
    return out


class AttachmentOut(BaseModel):
    id: int
    name: str
    size: int
    sha256: str
    tlp: str
    org_id: int
    at: UtcDatetime


def _attachment(a: Attachment) -> AttachmentOut:
    return AttachmentOut(
        id=a.id, name=a.name, size=a.size, sha256=a.sha256, tlp=a.tlp, org_id=a.org_id, at=a.at
    )


@router.get("/api/incidents/{incident_id}/attachments", response_model=list[AttachmentOut])
def list_attachments(
    incident_id: IncidentId, session: SessionDep, principal: CurrentPrincipal
) -> list[AttachmentOut]:
    return [_attachment(a) for a in work.attachments_of(session, principal, incident_id)]


async def _bounded(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise InvalidInput(f"the file is larger than {limit} bytes (this node's limit)")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise InvalidInput(f"the file is larger than {limit} bytes (this node's limit)")
    return bytes(body)


@router.post(
    "/api/incidents/{incident_id}/attachments",
    response_model=AttachmentOut,
    status_code=201,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            },
        }
    },
)
async def add_attachment(
    incident_id: IncidentId,
    request: Request,
    session: SessionDep,
    node: NodeDep,
    principal: CurrentPrincipal,
    name: Annotated[str, Query(min_length=1, max_length=255, description="file name")],
    tlp: Annotated[str, Query(max_length=20)] = "amber",
) -> AttachmentOut:
    """Attach a file (the raw request body). Stored with its SHA-256; never rendered."""
    limit = node.settings.incident_attachment_max_bytes
    content = await _bounded(request, limit)
    a = work.add_attachment(
        session,
        principal,
        incident_id,
        name=name,
        content=content,
        tlp=tlp,
        max_bytes=limit,
        at=now_from(request.app.state),
    )
    out = _attachment(a)
    session.commit()
    return out


def download(a: Attachment) -> Response:
    """The file as a download only: never sniffed, never shown inline, never scripted."""
    return Response(
        a.content,
        media_type="application/octet-stream",
        headers={
            "Content-Disposition": f'attachment; filename="{a.name}"',
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "X-Checksum-SHA256": a.sha256,
        },
    )


@router.get(
    "/api/incidents/attachments/{attachment_id}",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
def get_attachment(
    attachment_id: DbId, session: SessionDep, principal: CurrentPrincipal
) -> Response:
    return download(work.get_attachment(session, principal, attachment_id))


class RecordIn(BaseModel):
    stix_id: str = Field(min_length=3, max_length=300)
    tlp: str = Field(default="amber", max_length=20, description="TLP of the record in this case")
    pap: str = Field(default="amber", max_length=20)


class RecordOut(BaseModel):
    stix_id: str
    tlp: str
    pap: str
    org_id: int
    at: UtcDatetime


def _record(r: Record) -> RecordOut:
    return RecordOut(stix_id=r.stix_id, tlp=r.tlp, pap=r.pap, org_id=r.org_id, at=r.at)


@router.get("/api/incidents/{incident_id}/records", response_model=list[RecordOut])
def list_records(
    incident_id: IncidentId, session: SessionDep, principal: CurrentPrincipal
) -> list[RecordOut]:
    return [_record(r) for r in work.records_of(session, principal, incident_id)]


@router.post("/api/incidents/{incident_id}/records", response_model=RecordOut, status_code=201)
def link_record(
    incident_id: IncidentId,
    body: RecordIn,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> RecordOut:
    r = work.link_record(
        session,
        principal,
        incident_id,
        body.stix_id,
        tlp=body.tlp,
        pap=body.pap,
        at=now_from(request.app.state),
    )
    out = _record(r)
    session.commit()
    return out


@router.delete("/api/incidents/{incident_id}/records/{stix_id}")
def unlink_record(
    incident_id: IncidentId,
    stix_id: Annotated[str, "STIX id"],
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> dict[str, str]:
    work.unlink_record(session, principal, incident_id, stix_id, at=now_from(request.app.state))
    session.commit()
    return {"unlinked": stix_id}
