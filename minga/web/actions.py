"""Acting on an object from its page: edit (a new version), change its TLP or expiry, revoke,
export it as STIX. Who may is decided in `minga.policy`; the writes go through `minga.intel`."""

from __future__ import annotations

import re
import uuid
from typing import Any

import orjson
from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from minga.errors import Forbidden, MingaError
from minga.intel import edit, stats
from minga.intel import service as intel
from minga.intel.stix import ts_to_us
from minga.policy import Tlp, may_version
from minga.web import views
from minga.web.render import Ctx, Page, PageRoute, redirect, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)
_LOCAL = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?")


def _expiry_field(obj: dict[str, Any]) -> str:
    """valid_until as a datetime-local input wants it (UTC, to the minute)."""
    value = obj.get("valid_until")
    return value[:16] if isinstance(value, str) else ""


def _edit_page(
    ctx: Ctx, stix_id: str, status: int = 200, errors: list[str] | None = None
) -> Response:
    item = intel.get_object(ctx.session, ctx.me, stix_id)
    if not may_version(ctx.me, intel.marking_of(ctx.session, item)):
        raise Forbidden("only the organisation that created an object may change it")
    obj = item.object()
    v = {
        "name": ctx.field("name", str(obj.get("name", ""))),
        "description": ctx.field("description", str(obj.get("description", ""))),
        "valid_until": ctx.field("valid_until", _expiry_field(obj)),
        "tlp": ctx.field("tlp", item.tlp.value),
    }
    return render(
        ctx,
        "object_edit.html",
        status,
        item=views.row(item, views.organisations(ctx.session)),
        fields=edit.editable(obj),
        valid_from=obj.get("valid_from", ""),
        tlps=[t.value for t in Tlp],
        v=v,
        errors=errors or [],
    )


@router.get("/objects/{stix_id}/edit", response_class=HTMLResponse)
def edit_form(ctx: Page, stix_id: str) -> Response:
    return _edit_page(ctx, stix_id)


def _expiry(ctx: Ctx, problems: list[str]) -> str | None:
    raw = ctx.field("valid_until")
    if not raw:
        return ""
    if not _LOCAL.fullmatch(raw):
        problems.append(ctx.t("Write the expiry as a date and time (UTC)."))
        return None
    value = raw + (":00" if len(raw) == 16 else "") + "Z"
    try:
        ts_to_us(value)
    except ValueError:
        problems.append(ctx.t("Write the expiry as a date and time (UTC)."))
        return None
    return value


@router.post("/objects/{stix_id}/edit", response_class=HTMLResponse)
def save(ctx: Page, stix_id: str) -> Response:
    problems: list[str] = []
    tlp = intel.parse_tlp(ctx.field("tlp")) if ctx.field("tlp") else None
    if ctx.field("tlp") and tlp is None:
        problems.append(ctx.t("Choose a TLP level."))
    changes = edit.Changes(
        name=ctx.field("name")[:200] if ctx.form is not None and "name" in ctx.form else None,
        description=ctx.field("description")[:4000]
        if ctx.form is not None and "description" in ctx.form
        else None,
        valid_until=_expiry(ctx, problems)
        if ctx.form is not None and "valid_until" in ctx.form
        else None,
        tlp=tlp,
    )
    if not problems:
        try:
            edit.new_version(ctx.session, ctx.me, stix_id, changes)
            ctx.session.commit()
            return redirect(ctx, f"/objects/{stix_id}?saved=1")
        except MingaError as exc:
            ctx.session.rollback()
            problems.append(exc.message)
    return _edit_page(ctx, stix_id, 422, problems)


@router.post("/objects/{stix_id}/revoke", response_class=HTMLResponse)
def revoke(ctx: Page, stix_id: str) -> Response:
    intel.revoke(ctx.session, ctx.me, stix_id)
    ctx.session.commit()
    return redirect(ctx, f"/objects/{stix_id}?revoked=1")


@router.get("/objects/{stix_id}/export")
def export(ctx: Page, stix_id: str) -> Response:
    """The object as a STIX 2.1 bundle; a report brings the objects it lists that the reader
    may see."""
    item = intel.get_object(ctx.session, ctx.me, stix_id)
    obj = item.object()
    found = [obj]
    refs = [r for r in obj.get("object_refs", []) if isinstance(r, str)]
    if refs:
        listed = stats.visible_by_ids(ctx.session, ctx.me, refs[:500])
        found.extend(o.object() for o in sorted(listed, key=lambda o: o.stix_id))
    bundle = {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": found}
    name = re.sub(r"[^A-Za-z0-9._-]", "_", stix_id)
    return Response(
        orjson.dumps(bundle, option=orjson.OPT_INDENT_2),
        media_type="application/stix+json;version=2.1",
        headers={"Content-Disposition": f'attachment; filename="{name}.json"'},
    )
