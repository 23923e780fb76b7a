"""Web pages of the national self-assessment (CMM 2021): the list, one assessment with its
radar chart and year-on-year comparison, a factor's form, and the exports."""

from __future__ import annotations

from datetime import date
from typing import Any

import orjson
from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from minga.api.deps import DbId, get_node
from minga.assessments import cmm, documents, evidence, exports, reports, risks
from minga.assessments.frameworks import CMM_SOURCE, CMM_SOURCE_URL
from minga.assessments.frameworks import cmm as cmm_model
from minga.errors import InvalidInput, NotFound
from minga.policy import Action, Target, may
from minga.web.render import Ctx, Page, PageRoute, redirect, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)


def source(ctx: Ctx) -> dict[str, Any]:
    model = cmm_model()
    return {
        "cmm_source": CMM_SOURCE,
        "cmm_source_url": CMM_SOURCE_URL,
        "cmm_edition": model.edition,
        "cmm_verification": model.verification,
        "stages": model.stages,
    }


@router.get("/assessments", response_class=HTMLResponse)
def home(ctx: Page) -> Response:
    notice = get_node(ctx.request).settings.risk_review_notice_days
    due = risks.due(ctx.session, date.today(), notice, ctx.me.org_id)
    return render(ctx, "assessments/home.html", can_assess=may(ctx.me, Action.ASSESS), due=due)


@router.get("/assessments/cmm", response_class=HTMLResponse)
def cmm_list(ctx: Page) -> Response:
    rows = cmm.listed(ctx.session, ctx.me)
    return render(
        ctx,
        "assessments/cmm_list.html",
        rows=[(r, cmm.result(ctx.session, r)) for r in rows],
        can_assess=may(ctx.me, Action.ASSESS),
        **source(ctx),
    )


@router.post("/assessments/cmm", response_class=HTMLResponse)
def cmm_create(ctx: Page) -> Response:
    year = ctx.field("year")
    if not year.isdigit():
        raise InvalidInput("the year must be a number such as 2025")
    row = cmm.create(ctx.session, ctx.me, int(year))
    ctx.session.commit()
    return redirect(ctx, f"/assessments/cmm/{row.id}")


@router.get("/assessments/cmm/{assessment_id}", response_class=HTMLResponse)
def cmm_page(ctx: Page, assessment_id: DbId) -> Response:
    row = cmm.get(ctx.session, ctx.me, assessment_id)
    res = cmm.result(ctx.session, row)
    history = cmm.history(ctx.session, ctx.me, row)
    radar = reports.cmm_radar(res, history, ctx.t("Mean stage per dimension"), "cmm-radar")
    previous = next((h for h in reversed(history) if h.assessment.year < row.year), None)
    prev_stage = (
        {f.factor.id: f.stage for d in previous.dimensions for f in d.factors} if previous else {}
    )
    return render(
        ctx,
        "assessments/cmm_assessment.html",
        res=res,
        radar=radar,
        history=history,
        previous=previous,
        prev_stage=prev_stage,
        can_edit=may(ctx.me, Action.ASSESS, Target(row.org_id)),
        pillars=cmm.GCI_PILLARS,
        **source(ctx),
    )


@router.get("/assessments/cmm/{assessment_id}/factors/{factor_id}", response_class=HTMLResponse)
def factor_form(ctx: Page, assessment_id: DbId, factor_id: str) -> Response:
    row = cmm.get(ctx.session, ctx.me, assessment_id)
    res = cmm.result(ctx.session, row)
    found = next(
        ((d, f) for d in res.dimensions for f in d.factors if f.factor.id == factor_id),
        None,
    )
    if found is None:
        raise NotFound(f"no CMM 2021 factor {factor_id}")
    links = evidence.for_country(ctx.session, ctx.me, row.country, ctx.t).get(factor_id, [])
    return render(
        ctx,
        "assessments/cmm_factor.html",
        res=res,
        dim=found[0],
        fr=found[1],
        suggested=links,
        can_edit=row.status == "draft" and may(ctx.me, Action.ASSESS, Target(row.org_id)),
        **source(ctx),
    )


def _kept(value: str) -> dict[str, Any]:
    """An evidence link the form showed as already linked (its JSON, sent back as is)."""
    try:
        item = orjson.loads(value)
    except orjson.JSONDecodeError:
        raise InvalidInput("an evidence link came back damaged: reload the form") from None
    if not isinstance(item, dict) or not isinstance(item.get("label"), str):
        raise InvalidInput("an evidence link came back damaged: reload the form")
    return item


@router.post("/assessments/cmm/{assessment_id}/factors/{factor_id}", response_class=HTMLResponse)
def factor_save(ctx: Page, assessment_id: DbId, factor_id: str) -> Response:
    row = cmm.get(ctx.session, ctx.me, assessment_id)
    factor = next((f for f in cmm_model().factors if f.id == factor_id), None)
    if factor is None:
        raise NotFound(f"no CMM 2021 factor {factor_id}")
    suggested = {
        link.ref: link
        for link in evidence.for_country(ctx.session, ctx.me, row.country, ctx.t).get(factor_id, [])
    }
    for aspect in factor.aspects:
        k = aspect.key
        stage = ctx.field(f"stage-{k}")
        picked = [suggested[r].as_dict() for r in ctx.fields(f"evidence-{k}") if r in suggested]
        kept = [_kept(v) for v in ctx.fields(f"kept-{k}")]
        extra_label, extra_url = ctx.field(f"label-{k}"), ctx.field(f"url-{k}")
        if extra_label or extra_url:
            kept.append({"kind": "document", "label": extra_label or extra_url, "url": extra_url})
        cmm.answer(
            ctx.session,
            ctx.me,
            row.id,
            k,
            stage=int(stage) if stage.isdigit() else None,
            justification=ctx.field(f"why-{k}"),
            evidence=list({e.get("ref") or e["label"]: e for e in kept + picked}.values()),
        )
    ctx.session.commit()
    return redirect(ctx, f"/assessments/cmm/{row.id}#factor-{factor_id}")


@router.post("/assessments/cmm/{assessment_id}/gci", response_class=HTMLResponse)
def gci_save(ctx: Page, assessment_id: DbId) -> Response:
    scores: dict[str, float] = {}
    for pillar in cmm.GCI_PILLARS:
        value = ctx.field(pillar).replace(",", ".")
        if value:
            try:
                scores[pillar] = float(value)
            except ValueError:
                raise InvalidInput(f"the GCI {pillar} score must be a number") from None
    cmm.set_gci(ctx.session, ctx.me, assessment_id, ctx.field("edition"), scores)
    ctx.session.commit()
    return redirect(ctx, f"/assessments/cmm/{assessment_id}#gci")


@router.post("/assessments/cmm/{assessment_id}/complete", response_class=HTMLResponse)
def cmm_complete(ctx: Page, assessment_id: DbId) -> Response:
    if ctx.field("reopen"):
        cmm.reopen(ctx.session, ctx.me, assessment_id)
    else:
        cmm.complete(ctx.session, ctx.me, assessment_id)
    ctx.session.commit()
    return redirect(ctx, f"/assessments/cmm/{assessment_id}")


@router.get("/assessments/cmm/{assessment_id}/export.{fmt}")
def cmm_export(ctx: Page, assessment_id: DbId, fmt: str) -> Response:
    res = cmm.result(ctx.session, cmm.get(ctx.session, ctx.me, assessment_id))
    name = f"cmm-{res.assessment.country}-{res.assessment.year}"
    if fmt == "csv":
        body, media = exports.cmm_csv(res).encode(), "text/csv; charset=utf-8"
    elif fmt == "json":
        body = orjson.dumps(exports.cmm_json(res), option=orjson.OPT_INDENT_2)
        media = "application/json"
    else:
        raise NotFound("exports are .json or .csv")
    return Response(
        body,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{name}.{fmt}"'},
    )


@router.get("/assessments/cmm/{assessment_id}/report.{fmt}")
def cmm_report(ctx: Page, assessment_id: DbId, fmt: str, lang: str = "") -> Response:
    """The printable report (PDF or standalone HTML) in the page's language or `lang`."""
    row = cmm.get(ctx.session, ctx.me, assessment_id)
    res = cmm.result(ctx.session, row)
    history = cmm.history(ctx.session, ctx.me, row)
    node_name = get_node(ctx.request).settings.node_name
    html = reports.cmm_html(res, history, lang or ctx.lang, node_name)
    name = f"cmm-{row.country}-{row.year}.{fmt}"
    if fmt == "pdf":
        body, media = documents.pdf(html), "application/pdf"
    elif fmt == "html":
        body, media = html.encode(), "text/html"
    else:
        raise NotFound("a report is .pdf or .html")
    return Response(
        body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )
