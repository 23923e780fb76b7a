"""Report upload: the node reads the file, shows the indicators it found, the analyst publishes.

Drafts belong to `minga.ingest.drafts`; nothing becomes intelligence before "Publish".
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import UploadFile

from minga.accounts.service import require
from minga.api.deps import get_node
from minga.errors import MingaError
from minga.extract import ReportError
from minga.extract.readers import DEFAULT_MAX_BYTES
from minga.ingest import drafts, files
from minga.knowledge.annotate import notes_for
from minga.policy import Action
from minga.web.publish import choices, marking_context
from minga.web.render import Ctx, Page, PageRoute, redirect, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)


def max_bytes(ctx: Ctx) -> int:
    """The largest report accepted: the reader's limit, or the node's ingest limit
    (`MINGA_INGEST_MAX_BYTES`) if that is lower."""
    return min(DEFAULT_MAX_BYTES, get_node(ctx.request).settings.ingest_max_bytes)


def _megabytes(n: int) -> str:
    value = n / (1024 * 1024)
    return f"{value:.0f}" if value >= 10 else f"{value:.1f}".rstrip("0").rstrip(".")


def _upload_page(ctx: Ctx, status: int = 200, error: str = "") -> Response:
    return render(
        ctx,
        "upload.html",
        status,
        drafts=drafts.list_drafts(ctx.session, ctx.me),
        error=error,
        limit_mb=_megabytes(max_bytes(ctx)),
    )


@router.get("/upload", response_class=HTMLResponse)
def upload_form(ctx: Page) -> Response:
    return _upload_page(ctx)


@router.post("/upload", response_class=HTMLResponse)
def upload(ctx: Page) -> Response:
    require(ctx.me, Action.PUBLISH)
    sent = ctx.form.get("file") if ctx.form is not None else None
    if not isinstance(sent, UploadFile) or not sent.filename:
        return _upload_page(ctx, 422, ctx.t("Choose a report file to upload."))
    limit = max_bytes(ctx)
    data = sent.file.read(limit + 1)
    if len(data) > limit:
        message = ctx.t("The file is larger than %(size)s MB.") % {"size": _megabytes(limit)}
        return _upload_page(ctx, 413, message)
    if not data:
        return _upload_page(ctx, 422, ctx.t("The file is empty."))
    try:
        draft = drafts.create_report_draft(
            ctx.session, ctx.me, data, sent.filename, sent.content_type
        )
        ctx.session.commit()
    except ReportError as exc:
        return _upload_page(ctx, 422, exc.message)
    except MingaError as exc:
        return _upload_page(ctx, 422, exc.message)
    return redirect(ctx, f"/drafts/{draft.id}")


def _review_page(
    ctx: Ctx, draft_id: int, status: int = 200, errors: list[str] | None = None
) -> Response:
    draft = drafts.get_draft(ctx.session, ctx.me, draft_id)
    values: dict[str, Any] = {
        "tlp": ctx.field("tlp", draft.tlp_hint or "amber"),
        "name": ctx.field("name", draft.name),
        "description": ctx.field("description", draft.description),
        "reach": ctx.field("reach", "community"),
        "groups": {int(g) for g in ctx.fields("group") if g.isdigit()},
    }
    return render(
        ctx,
        "draft.html",
        status,
        draft=draft,
        knowledge=notes_for(ctx.session, [i.value for i in draft.items]),
        v=values,
        errors=errors or [],
        **marking_context(ctx),
    )


@router.get("/drafts/{draft_id}", response_class=HTMLResponse)
def review(ctx: Page, draft_id: int) -> Response:
    return _review_page(ctx, draft_id)


@router.post("/drafts/{draft_id}/publish", response_class=HTMLResponse)
def publish(ctx: Page, draft_id: int) -> Response:
    tlp, reach, groups, problems = choices(ctx)
    selected = [int(i) for i in ctx.fields("item") if i.isdigit()]
    if not selected:
        problems.append(ctx.t("Tick at least one indicator to publish."))
    if ctx.form is not None and "name" in ctx.form and not ctx.field("name"):
        problems.append(ctx.t("Give the report a name."))
    if problems:
        return _review_page(ctx, draft_id, 422, problems)
    try:
        result = drafts.publish_draft(
            ctx.session,
            ctx.me,
            draft_id,
            selected=selected,
            tlp=tlp,
            reach=reach,
            group_ids=groups,
            name=ctx.field("name")[:300] or None,
            description=ctx.field("description")[:4000]
            if ctx.form is not None and "description" in ctx.form
            else None,
        )
        ctx.session.commit()
    except MingaError as exc:
        ctx.session.rollback()
        return _review_page(ctx, draft_id, 422, [exc.message])
    report_id = drafts.get_draft(ctx.session, ctx.me, draft_id).report_id
    known = f"&known={len(result.linked)}" if result.linked else ""  # already published
    return redirect(ctx, f"/objects/{report_id}?published=1{known}")


@router.post("/drafts/{draft_id}/discard", response_class=HTMLResponse)
def discard(ctx: Page, draft_id: int) -> Response:
    drafts.discard_draft(ctx.session, ctx.me, draft_id)
    ctx.session.commit()
    return redirect(ctx, "/upload?done=discarded")


def _download(original: files.Original) -> Response:
    name = re.sub(r"[^\w.-]", "_", original.filename)[:200] or "report"
    return Response(
        original.data,
        media_type=original.content_type,
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "sandbox",
        },
    )


@router.get("/drafts/{draft_id}/file")
def draft_file(ctx: Page, draft_id: int) -> Response:
    return _download(files.of_draft(ctx.session, ctx.me, draft_id))


@router.get("/objects/{stix_id}/file")
def report_file(ctx: Page, stix_id: str) -> Response:
    """The file a report was read from, for whoever may see the report."""
    return _download(files.of_report(ctx.session, ctx.me, stix_id))
