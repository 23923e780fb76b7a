"""Web pages of the organisational self-assessment (NIST CSF 2.0): the list, one assessment with
its gaps and action plan, a category's form, the sector aggregate, and the exports."""

from __future__ import annotations

from datetime import date
from typing import Any

import orjson
from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from minga.accounts.models import Organisation
from minga.api.deps import DbId, get_node
from minga.assessments import charts, csf, documents, exports, reports
from minga.assessments.frameworks import CSF_SOURCE, CSF_SOURCE_URL, TIERS
from minga.assessments.frameworks import csf as csf_model
from minga.errors import Forbidden, InvalidInput, NotFound
from minga.policy import AGGREGATE_MIN_ORGS, Action, Target, may
from minga.web.render import Page, PageRoute, redirect, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)


def _source() -> dict[str, Any]:
    model = csf_model()
    return {
        "csf_source": CSF_SOURCE,
        "csf_source_url": CSF_SOURCE_URL,
        "csf_version": model.version,
        "csf_published": model.published,
        "tiers": TIERS,
    }


@router.get("/assessments/csf", response_class=HTMLResponse)
def csf_list(ctx: Page) -> Response:
    rows = [csf.result(ctx.session, r) for r in csf.listed(ctx.session, ctx.me)]
    own = ctx.session.get(Organisation, ctx.me.org_id)
    return render(
        ctx,
        "assessments/csf_list.html",
        rows=rows,
        sector=own.sector if own else "",
        can_assess=may(ctx.me, Action.ASSESS),
        **_source(),
    )


@router.post("/assessments/csf", response_class=HTMLResponse)
def csf_create(ctx: Page) -> Response:
    row = csf.create(ctx.session, ctx.me, ctx.field("title"))
    ctx.session.commit()
    return redirect(ctx, f"/assessments/csf/{row.id}")


@router.get("/assessments/csf/aggregate", response_class=HTMLResponse)
def csf_aggregate(ctx: Page, sector: str = "") -> Response:
    if not sector:
        own = ctx.session.get(Organisation, ctx.me.org_id)
        sector = own.sector if own else ""
    refused = ""
    agg = None
    try:
        agg = csf.sector_aggregate(ctx.session, ctx.me, sector[:64])
    except Forbidden:
        refused = sector
    functions = csf_model().functions
    radar = (
        charts.radar(
            [f.id for f in functions],
            [charts.Series(sector, [agg.functions.get(f.id) for f in functions])],
            top=4,
            title=ctx.t("Mean current tier per function"),
            chart_id="csf-aggregate",
        )
        if agg
        else ""
    )
    return render(
        ctx,
        "assessments/csf_aggregate.html",
        agg=agg,
        sector=sector,
        refused=refused,
        radar=radar,
        functions=functions,
        minimum=AGGREGATE_MIN_ORGS,
        **_source(),
    )


@router.get("/assessments/csf/{assessment_id}", response_class=HTMLResponse)
def csf_page(ctx: Page, assessment_id: DbId) -> Response:
    row = csf.get(ctx.session, ctx.me, assessment_id)
    res = csf.result(ctx.session, row)
    summary = res.by_function()
    functions = csf_model().functions
    radar = reports.csf_radar(
        res,
        ctx.t("Current tier"),
        ctx.t("Target tier"),
        ctx.t("Mean current and target tier per function"),
        "csf-radar",
    )
    return render(
        ctx,
        "assessments/csf_assessment.html",
        res=res,
        summary=summary,
        functions=functions,
        radar=radar,
        plan=res.plan(),
        done={
            c.id: sum(1 for ln in res.lines if ln.sub.category_id == c.id and ln.gap is not None)
            for f in functions
            for c in f.categories
        },
        can_edit=may(ctx.me, Action.ASSESS, Target(row.org_id)),
        **_source(),
    )


@router.get(
    "/assessments/csf/{assessment_id}/categories/{category_id}", response_class=HTMLResponse
)
def category_form(ctx: Page, assessment_id: DbId, category_id: str) -> Response:
    row = csf.get(ctx.session, ctx.me, assessment_id)
    res = csf.result(ctx.session, row)
    found = next(
        ((f, c) for f in csf_model().functions for c in f.categories if c.id == category_id), None
    )
    if found is None:
        raise NotFound(f"no NIST CSF 2.0 category {category_id}")
    return render(
        ctx,
        "assessments/csf_category.html",
        res=res,
        fn=found[0],
        cat=found[1],
        lines={ln.sub.id: ln for ln in res.lines},
        can_edit=row.status == "draft" and may(ctx.me, Action.ASSESS, Target(row.org_id)),
        **_source(),
    )


def _int(value: str) -> int | None:
    return int(value) if value.isdigit() else None


@router.post(
    "/assessments/csf/{assessment_id}/categories/{category_id}", response_class=HTMLResponse
)
def category_save(ctx: Page, assessment_id: DbId, category_id: str) -> Response:
    cat = next(
        (c for f in csf_model().functions for c in f.categories if c.id == category_id), None
    )
    if cat is None:
        raise NotFound(f"no NIST CSF 2.0 category {category_id}")
    for sub in cat.subcategories:
        k = sub.id
        due = ctx.field(f"due-{k}")
        try:
            due_on = date.fromisoformat(due) if due else None
        except ValueError:
            raise InvalidInput(f"the due date of {k} must be a date (YYYY-MM-DD)") from None
        csf.answer(
            ctx.session,
            ctx.me,
            assessment_id,
            k,
            current=_int(ctx.field(f"current-{k}")),
            target=_int(ctx.field(f"target-{k}")),
            importance=_int(ctx.field(f"importance-{k}")) or 2,
            action=ctx.field(f"action-{k}"),
            owner=ctx.field(f"owner-{k}"),
            due_on=due_on,
            notes=ctx.field(f"notes-{k}"),
        )
    ctx.session.commit()
    return redirect(ctx, f"/assessments/csf/{assessment_id}#category-{category_id}")


@router.post("/assessments/csf/{assessment_id}/consent", response_class=HTMLResponse)
def consent(ctx: Page, assessment_id: DbId) -> Response:
    csf.set_consent(ctx.session, ctx.me, assessment_id, ctx.field("share") == "yes")
    ctx.session.commit()
    return redirect(ctx, f"/assessments/csf/{assessment_id}")


@router.post("/assessments/csf/{assessment_id}/complete", response_class=HTMLResponse)
def csf_complete(ctx: Page, assessment_id: DbId) -> Response:
    if ctx.field("reopen"):
        csf.reopen(ctx.session, ctx.me, assessment_id)
    else:
        csf.complete(ctx.session, ctx.me, assessment_id)
    ctx.session.commit()
    return redirect(ctx, f"/assessments/csf/{assessment_id}")


@router.get("/assessments/csf/{assessment_id}/export.{fmt}")
def csf_export(ctx: Page, assessment_id: DbId, fmt: str) -> Response:
    res = csf.result(ctx.session, csf.get(ctx.session, ctx.me, assessment_id))
    if fmt == "csv":
        body, media = exports.csf_csv(res).encode(), "text/csv; charset=utf-8"
    elif fmt == "json":
        body = orjson.dumps(exports.csf_json(res), option=orjson.OPT_INDENT_2)
        media = "application/json"
    else:
        raise NotFound("exports are .json or .csv")
    return Response(
        body,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="csf-{assessment_id}.{fmt}"'},
    )


@router.get("/assessments/csf/{assessment_id}/report.{fmt}")
def csf_report(ctx: Page, assessment_id: DbId, fmt: str, lang: str = "") -> Response:
    """The printable report (PDF or standalone HTML) in the page's language or `lang`."""
    res = csf.result(ctx.session, csf.get(ctx.session, ctx.me, assessment_id))
    node_name = get_node(ctx.request).settings.node_name
    html = reports.csf_html(res, lang or ctx.lang, node_name)
    if fmt == "pdf":
        body, media = documents.pdf(html), "application/pdf"
    elif fmt == "html":
        body, media = html.encode(), "text/html"
    else:
        raise NotFound("a report is .pdf or .html")
    name = f"csf-{assessment_id}.{fmt}"
    return Response(
        body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )
