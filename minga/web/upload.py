"""Report upload: the node reads the file, shows the indicators it found, the analyst publishes.

Drafts belong to `minga.ingest.drafts`; nothing becomes intelligence before "Publish".
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import UploadFile

from minga.accounts.service import require
from minga.errors import MingaError
from minga.extract import ReportError
from minga.ingest import drafts
from minga.knowledge.annotate import notes_for
from minga.policy import Action
from minga.web.publish import choices, marking_context
from minga.web.render import Ctx, Page, PageRoute, redirect, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)
MAX_BYTES = 20 * 1024 * 1024


def _upload_page(ctx: Ctx, status: int = 200, error: str = "") -> Response:
    return render(
        ctx, "upload.html", status, drafts=drafts.list_drafts(ctx.session, ctx.me), error=error
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
    data = sent.file.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        return _upload_page(ctx, 413, ctx.t("The file is larger than 20 MB."))
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
        "tlp": ctx.field("tlp", "amber"),
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
    if problems:
        return _review_page(ctx, draft_id, 422, problems)
    try:
        result = drafts.publish_draft(
            ctx.session, ctx.me, draft_id, selected=selected, tlp=tlp, reach=reach, group_ids=groups
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
