"""The advisory desk (signed-in web pages): analysts draft and edit advisories in es/pt/en,
coordinators publish them, publish updates and withdraw them; everyone reads the list."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import HTMLResponse, Response

from minga.advisories import campaigns, csaf, service
from minga.advisories.content import CATEGORIES, SEVERITIES
from minga.errors import Conflict, Forbidden, InvalidInput
from minga.policy import Action, Target, may
from minga.web.i18n import LANGUAGES
from minga.web.render import Ctx, Page, PageRoute, redirect, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)
TrackingId = Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9-]+$")]
_SPLIT = re.compile(r"[\s,;]+")


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def fields_from(ctx: Ctx) -> dict[str, Any]:
    """The advisory as the form sent it; a language left blank is not part of it."""
    texts = {}
    for lang in LANGUAGES:
        text = {k: ctx.field(f"{k}_{lang}") for k in ("title", "summary", "what_to_do")}
        if any(text.values()):
            texts[lang] = text
    products = []
    for line in _lines(ctx.field("products")):
        vendor, _, rest = line.partition("|")
        product, _, versions = rest.partition("|")
        products.append(
            {"vendor": vendor.strip(), "product": product.strip(), "versions": versions.strip()}
        )
    return {
        "texts": texts,
        "category": ctx.field("category"),
        "severity": ctx.field("severity"),
        "sectors": [s.lower() for s in _SPLIT.split(ctx.field("sectors")) if s],
        "products": products,
        "cves": [c.upper() for c in _SPLIT.split(ctx.field("cves")) if c],
        "references": _lines(ctx.field("references")),
        "links": [s for s in _SPLIT.split(ctx.field("links")) if s],
    }


def form_values(body: dict[str, Any]) -> dict[str, Any]:
    """The form fields of stored content."""
    values: dict[str, Any] = {
        "category": body["category"],
        "severity": body["severity"],
        "sectors": ", ".join(body.get("sectors", [])),
        "products": "\n".join(
            f"{p['vendor']} | {p['product']} | {p['versions']}" for p in body.get("products", [])
        ),
        "cves": ", ".join(body.get("cves", [])),
        "references": "\n".join(body.get("references", [])),
        "links": "\n".join(body.get("links", [])),
    }
    for lang, text in body.get("texts", {}).items():
        for key, value in text.items():
            values[f"{key}_{lang}"] = value
    return values


def _form(
    ctx: Ctx, values: dict[str, Any], errors: list[str], *, action: str, update: bool = False
) -> Response:
    return render(
        ctx,
        "advisories/desk_form.html",
        status=422 if errors else 200,
        v=values,
        errors=errors,
        action=action,
        update=update,
        categories=CATEGORIES,
        severities=SEVERITIES,
        form_languages=LANGUAGES,
    )


@router.get("/advisories", response_class=HTMLResponse)
def desk_list(ctx: Page) -> Response:
    items = [(a, service.loads(a)) for a in service.list_for(ctx.session, ctx.me)]
    return render(
        ctx,
        "advisories/desk_list.html",
        items=items,
        may_draft=may(ctx.me, Action.DRAFT_ADVISORY),
        may_campaign=may(ctx.me, Action.PUBLISH_ADVISORY),
    )


@router.get("/advisories/new", response_class=HTMLResponse)
def new_form(ctx: Page) -> Response:
    if not may(ctx.me, Action.DRAFT_ADVISORY):
        raise Forbidden("your role may not draft advisories")
    return _form(ctx, {"category": "vulnerability", "severity": "high"}, [], action="/advisories")


@router.post("/advisories", response_class=HTMLResponse)
def create(ctx: Page) -> Response:
    fields = fields_from(ctx)
    try:
        advisory = service.draft(
            ctx.session, ctx.me, fields, prefix=ctx.request.app.state.node.settings.tracking_prefix
        )
    except InvalidInput as exc:
        values = dict(ctx.form) if ctx.form is not None else {}
        return _form(ctx, values, [exc.message], action="/advisories")
    ctx.session.commit()
    return redirect(ctx, f"/advisories/{advisory.tracking_id}?saved=1")


def _detail(ctx: Ctx, tracking_id: str, errors: list[str], status: int = 200) -> Response:
    advisory = service.get(ctx.session, ctx.me, tracking_id)
    target = Target(org_id=advisory.owner_org_id)
    return render(
        ctx,
        "advisories/desk_detail.html",
        status=status,
        a=advisory,
        body=service.loads(advisory),
        history=service.revisions(ctx.session, advisory),
        may_edit=may(ctx.me, Action.DRAFT_ADVISORY, target),
        may_publish=may(ctx.me, Action.PUBLISH_ADVISORY, target),
        has_csaf=csaf.has_csaf(advisory),
        notice="" if errors else ctx.request.query_params.get("done", ""),
        saved=not errors and ctx.request.query_params.get("saved") == "1",
        errors=errors,
    )


@router.get("/advisories/{tracking_id}", response_class=HTMLResponse)
def detail(ctx: Page, tracking_id: TrackingId) -> Response:
    return _detail(ctx, tracking_id, [])


@router.get("/advisories/{tracking_id}/edit", response_class=HTMLResponse)
def edit_form(ctx: Page, tracking_id: TrackingId) -> Response:
    advisory = service.get(ctx.session, ctx.me, tracking_id)
    update = advisory.status == service.PUBLISHED
    action = Action.PUBLISH_ADVISORY if update else Action.DRAFT_ADVISORY
    if advisory.status == service.WITHDRAWN or not may(
        ctx.me, action, Target(org_id=advisory.owner_org_id)
    ):
        raise Forbidden(f"you may not change {tracking_id}")
    values = form_values(service.loads(advisory))
    return _form(ctx, values, [], action=f"/advisories/{tracking_id}/edit", update=update)


@router.post("/advisories/{tracking_id}/edit", response_class=HTMLResponse)
def edit(ctx: Page, tracking_id: TrackingId) -> Response:
    advisory = service.get(ctx.session, ctx.me, tracking_id)
    update = advisory.status == service.PUBLISHED
    action = f"/advisories/{tracking_id}/edit"
    try:
        if update:
            service.update(
                ctx.session, ctx.me, tracking_id, fields_from(ctx), summary=ctx.field("summary")
            )
        else:
            service.edit_draft(ctx.session, ctx.me, tracking_id, fields_from(ctx))
    except (InvalidInput, Forbidden, Conflict) as exc:
        ctx.session.rollback()
        values = dict(ctx.form) if ctx.form is not None else {}
        return _form(ctx, values, [exc.message], action=action, update=update)
    ctx.session.commit()
    return redirect(ctx, f"/advisories/{tracking_id}?done={'updated' if update else 'saved'}")


def _act(ctx: Ctx, tracking_id: str, what: str) -> Response:
    try:
        if what == "published":
            service.publish(ctx.session, ctx.me, tracking_id, summary=ctx.field("summary"))
        else:
            service.withdraw(ctx.session, ctx.me, tracking_id, reason=ctx.field("reason"))
    except (InvalidInput, Forbidden, Conflict) as exc:
        ctx.session.rollback()
        status = 403 if isinstance(exc, Forbidden) else 409 if isinstance(exc, Conflict) else 422
        return _detail(ctx, tracking_id, [exc.message], status)
    ctx.session.commit()
    return redirect(ctx, f"/advisories/{tracking_id}?done={what}")


@router.post("/advisories/{tracking_id}/publish", response_class=HTMLResponse)
def publish(ctx: Page, tracking_id: TrackingId) -> Response:
    return _act(ctx, tracking_id, "published")


@router.post("/advisories/{tracking_id}/withdraw", response_class=HTMLResponse)
def withdraw(ctx: Page, tracking_id: TrackingId) -> Response:
    return _act(ctx, tracking_id, "withdrawn")


@router.get("/advisories/campaigns/new", response_class=HTMLResponse)
def campaign_form(ctx: Page) -> Response:
    if not may(ctx.me, Action.PUBLISH_ADVISORY):
        raise Forbidden("your role may not start awareness campaigns")
    return _campaign_form(ctx, {}, [])


def _campaign_form(ctx: Ctx, values: dict[str, Any], errors: list[str]) -> Response:
    public = [a for a in service.list_for(ctx.session, ctx.me) if a.status == service.PUBLISHED]
    return render(
        ctx,
        "advisories/desk_campaign.html",
        status=422 if errors else 200,
        v=values,
        errors=errors,
        published=[(a, service.loads(a)) for a in public],
        form_languages=LANGUAGES,
    )


@router.post("/advisories/campaigns", response_class=HTMLResponse)
def campaign_create(ctx: Page) -> Response:
    texts = {}
    for lang in LANGUAGES:
        text = {
            "title": ctx.field(f"title_{lang}"),
            "theme": ctx.field(f"theme_{lang}"),
            "tips": _lines(ctx.field(f"tips_{lang}")),
        }
        if text["title"] or text["theme"] or text["tips"]:
            texts[lang] = text
    try:
        starts_on = date.fromisoformat(ctx.field("starts_on"))
        ends_on = date.fromisoformat(ctx.field("ends_on"))
    except ValueError:
        values = dict(ctx.form) if ctx.form is not None else {}
        return _campaign_form(ctx, values, [ctx.t("Give the first and last day of the campaign.")])
    try:
        campaign = campaigns.create(
            ctx.session,
            ctx.me,
            slug=ctx.field("slug").lower(),
            starts_on=starts_on,
            ends_on=ends_on,
            texts=texts,
            advisories=ctx.fields("advisory"),
        )
    except (InvalidInput, Conflict) as exc:
        ctx.session.rollback()
        values = dict(ctx.form) if ctx.form is not None else {}
        return _campaign_form(ctx, values, [exc.message])
    ctx.session.commit()
    return redirect(ctx, f"/public/campaigns/{campaign.slug}?lang={ctx.lang}")
