"""REST adapter of the ingest pipeline: uploads, jobs and report drafts.

`POST /api/ingest` takes a multipart upload (field `file`) or a raw body, with options as form
fields or query parameters: format, tlp, reach, group (repeat), csv_preset, map (repeat,
column=field), wait (default true: the answer is the finished job; false: 202, queued) and
strict (default true: one invalid object refuses the file; false: every object that can be is
stored and the job result lists each refused one with its reason under `refused`).
The body is counted while it streams in and refused with 413 past the limit.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, nullcontext
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, FastAPI, HTTPException, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, StrictInt
from starlette.datastructures import UploadFile
from starlette.types import Message

from minga.accounts.checks import require
from minga.api.deps import DB_ID_MAX, CurrentPrincipal, DbId, NodeDep, SessionDep, StrictDbId
from minga.api.errors import error_body
from minga.errors import InvalidInput
from minga.events import bus
from minga.ingest import drafts, jobs
from minga.ingest.csvfeed import CsvMapping
from minga.ingest.pipeline import Options, Upload
from minga.intel.service import parse_reach, parse_tlp
from minga.knowledge.annotate import Note, notes_for
from minga.policy import Action, Tlp


@asynccontextmanager
async def queue_worker(app: FastAPI) -> AsyncIterator[None]:
    """While the node serves, run queued jobs: uploads whose background task was lost with a
    restart, and jobs whose heartbeat stopped (their server or worker was killed)."""
    seconds = app.state.node.settings.ingest_worker_seconds
    seconds = 0 if app.state.node.settings.event_bus else seconds  # `minga worker` runs them
    with jobs.worker(app.state.node.sessions, seconds) if seconds > 0 else nullcontext():
        yield


router = APIRouter(prefix="/api", tags=["ingest"], lifespan=queue_worker)
MULTIPART_SLACK = 64 * 1024  # form boundaries and fields around the file


def max_bytes(node: Any) -> int:
    return node.settings.ingest_max_bytes


def _too_large(limit: int) -> HTTPException:
    return HTTPException(413, f"the upload is larger than the {limit} byte limit")


async def _bounded_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


async def _form(request: Request, body: bytes) -> Any:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return await Request(request.scope, replay).form(max_part_size=MULTIPART_SLACK)


def _options(values: dict[str, list[str]]) -> tuple[str, Options, bool]:
    def one(key: str) -> str | None:
        found = values.get(key)
        return found[-1] if found else None

    try:
        groups = tuple(int(g) for g in values.get("group", []))
    except ValueError:
        raise InvalidInput("group must be a sharing-group id (a number)") from None
    if any(not 1 <= g <= DB_ID_MAX for g in groups):
        raise InvalidInput(f"group must be a sharing-group id between 1 and {DB_ID_MAX}")
    options = Options(
        tlp=parse_tlp(one("tlp")),
        reach=parse_reach(one("reach")),
        group_ids=groups,
        csv=CsvMapping.parse(values.get("map", []), one("csv_preset")),
        strict=(one("strict") or "true").lower() not in ("false", "0", "no"),
    )
    wait = (one("wait") or "true").lower() not in ("false", "0", "no")
    return one("format") or "auto", options, wait


INGESTED: dict[int | str, dict[str, Any]] = {
    200: {"description": "The job finished and stored nothing new"},
    201: {"description": "The job finished and stored objects or made a report draft"},
    202: {"description": "The job is queued (wait=false); poll /api/ingest/jobs/{id}"},
    422: {"description": "An invalid option, or a file that could not be read (details.job)"},
    503: {"description": "The import failed repeatedly; details.job is the dead job"},
}


UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            },
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


@router.post(
    "/ingest",
    summary="Import a STIX, MISP, CSV or report file (multipart or raw body)",
    responses=INGESTED,
    openapi_extra=UPLOAD_BODY,
)
async def ingest(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    node: NodeDep,
    background: BackgroundTasks,
    # The options are read from the query string and the form below; declared here so they are
    # documented and an out-of-range group id in the query is a 422 before anything is read.
    format_q: Annotated[
        str | None, Query(alias="format", description="auto, stix, misp, csv or report")
    ] = None,
    tlp: Annotated[str | None, Query(description="TLP for objects without a marking")] = None,
    reach: Annotated[str | None, Query(description="organisation ... federation")] = None,
    group: Annotated[list[DbId] | None, Query(description="sharing-group ids (repeat)")] = None,
    csv_preset: Annotated[str | None, Query(description="a named CSV column layout")] = None,
    map_q: Annotated[
        list[str] | None, Query(alias="map", description="CSV column=field (repeat)")
    ] = None,
    wait_q: Annotated[str | None, Query(alias="wait", description="false: 202 at once")] = None,
    strict_q: Annotated[
        str | None,
        Query(alias="strict", description="false: store the valid objects, list the refused"),
    ] = None,
    filename: Annotated[str | None, Query(description="name of a raw-body upload")] = None,
) -> Response:
    # Refused before the body is read or a job row is written: a reader may not import.
    require(principal, Action.PUBLISH)
    limit = max_bytes(node)
    ctype = request.headers.get("content-type", "")
    multipart = ctype.startswith("multipart/form-data")
    body = await _bounded_body(request, limit + (MULTIPART_SLACK if multipart else 0))
    values: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        values.setdefault(key, []).append(value)
    name = values.get("filename", ["upload"])[-1]
    if multipart:
        form = await _form(request, body)
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise InvalidInput("send the file in a multipart field named 'file'")
        body = await upload.read()
        name, ctype = upload.filename or name, upload.content_type or ""
        for key, value in form.multi_items():
            if isinstance(value, str):
                values.setdefault(key, []).append(value)
    if len(body) > limit:
        raise _too_large(limit)
    fmt, options, wait = _options(values)
    job = jobs.enqueue(session, principal, Upload(body, name, ctype or None, fmt), options, limit)
    if not wait and node.settings.event_bus:  # a `minga worker` runs it, from the bus
        bus.announce_job(session, job.id, principal.org_id)
        session.commit()
        return JSONResponse(job.as_dict(), 202)
    session.commit()
    if not wait:
        background.add_task(jobs.run_job, node.sessions, job.id)
        return JSONResponse(job.as_dict(), 202)
    return _job_response(await run_in_threadpool(jobs.run_job, node.sessions, job.id))


def _job_response(job: jobs.Job) -> Response:
    body = job.as_dict()
    if job.status == jobs.FAILED:
        return JSONResponse(error_body("invalid", job.error or "bad input", {"job": body}), 422)
    if job.status == jobs.DEAD:
        message = f"the import failed repeatedly and is kept as dead job {job.id}"
        return JSONResponse(error_body("unavailable", message, {"job": body}), 503)
    done = job.status == jobs.DONE and bool(
        (job.result or {}).get("created") or (job.result or {}).get("draft_id")
    )
    return JSONResponse(body, 201 if done else 200)


@router.get("/ingest/jobs", summary="Your organisation's recent ingest jobs, newest first")
def list_jobs(
    session: SessionDep,
    principal: CurrentPrincipal,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[dict[str, Any]]:
    return [j.as_dict() for j in jobs.list_jobs(session, principal, limit)]


@router.get("/ingest/jobs/{job_id}", summary="One ingest job of your organisation")
def get_job(job_id: DbId, session: SessionDep, principal: CurrentPrincipal) -> dict[str, Any]:
    return jobs.get_job(session, principal, job_id).as_dict()


def _draft(d: drafts.Draft, *, items: bool, notes: dict[str, Note] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": d.id,
        "name": d.name,
        "filename": d.filename,
        "language": d.language,
        "status": d.status,
        "created": d.created.isoformat(),
        "report_id": d.report_id,
        "item_count": len(d.items),
        # what the report says of itself: the description it gets unless one is sent, and
        # the TLP its text states ("TLP:AMBER")
        "description": d.description,
        "tlp_hint": d.tlp_hint,
        "original_file": d.has_file,
        # what was not read: the reviewer must not take the list for the whole report
        "limits": [
            {"code": lim.code, "read": lim.read, "total": lim.total, "message": lim.message}
            for lim in d.limits
        ],
    }
    if items:
        body["excerpt"] = d.excerpt
        body["items"] = [
            {
                "index": i.index, "type": i.type, "value": i.value, "raw": i.raw,
                "sentence": i.sentence, "start": i.start, "end": i.end, "benign": i.benign,
                "selected": i.selected,
                # what the node's reference knowledge says: technique name and tactics, KEV
                "knowledge": _note(notes.get(i.value)) if notes else None,
            }
            for i in d.items
        ]  # fmt: skip
    return body


class PublishIn(BaseModel):
    selected: list[StrictInt] | None = Field(
        default=None, description="item indexes; default: selected"
    )
    tlp: str = "amber"
    reach: str = "community"
    groups: list[StrictDbId] = Field(default_factory=list)
    name: str | None = Field(default=None, max_length=300, description="default: the title")
    description: str | None = Field(
        default=None,
        max_length=4000,
        description="default: the report's own summary and where the indicators came from",
    )


@router.get("/drafts", summary="Your organisation's report drafts, newest first")
def list_drafts(session: SessionDep, principal: CurrentPrincipal) -> list[dict[str, Any]]:
    return [_draft(d, items=False) for d in drafts.list_drafts(session, principal)]


def _note(note: Note | None) -> dict[str, Any] | None:
    if note is None:
        return None
    if note.kind == "technique":
        return {"kind": "technique", "id": note.key, "name": note.name,
                "tactics": list(note.tactics), "stix_id": note.stix_id}  # fmt: skip
    return {"kind": "kev", "cve": note.key, "name": note.name, "date_added": note.date_added,
            "vendor_project": note.vendor, "product": note.product,
            "stix_id": note.stix_id}  # fmt: skip


@router.get("/drafts/{draft_id}", summary="A draft with its candidate indicators")
def get_draft(draft_id: DbId, session: SessionDep, principal: CurrentPrincipal) -> dict[str, Any]:
    draft = drafts.get_draft(session, principal, draft_id)
    return _draft(draft, items=True, notes=notes_for(session, [i.value for i in draft.items]))


@router.post("/drafts/{draft_id}/publish", status_code=201, summary="Publish chosen items")
def publish_draft(
    draft_id: DbId, body: PublishIn, session: SessionDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    result = drafts.publish_draft(
        session,
        principal,
        draft_id,
        selected=body.selected,
        tlp=parse_tlp(body.tlp) or Tlp.AMBER,
        reach=parse_reach(body.reach),
        group_ids=body.groups,
        name=body.name,
        description=body.description,
    )
    report_id = drafts.get_draft(session, principal, draft_id).report_id
    session.commit()
    return {
        "report_id": report_id,
        "created": [{"id": i, "version": v} for i, v in result.created],
    }


@router.post("/drafts/{draft_id}/discard", status_code=204, summary="Throw a draft away")
def discard_draft(draft_id: DbId, session: SessionDep, principal: CurrentPrincipal) -> Response:
    drafts.discard_draft(session, principal, draft_id)
    session.commit()
    return Response(status_code=204)
