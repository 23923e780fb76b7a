"""Web pages of the risk register: the register with its heat map and due reviews, and the form
for one risk (with threat intelligence from the organisation's sector and country to link)."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from minga.api.deps import DbId, get_node
from minga.assessments import charts, risks, scoring
from minga.assessments.models import Risk
from minga.errors import InvalidInput
from minga.policy import Action, may
from minga.web.render import Ctx, Page, PageRoute, redirect, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)
LEVELS = [[scoring.risk_level((lk + 1) * (im + 1)) for lk in range(5)] for im in range(5)]


def _notice(ctx: Ctx) -> int:
    days: int = get_node(ctx.request).settings.risk_review_notice_days
    return days


@router.get("/risks", response_class=HTMLResponse)
def register(ctx: Page, status: str = "open") -> Response:
    shown = status if status in risks.STATUSES else None
    rows = risks.listed(ctx.session, ctx.me, status=shown)
    open_rows = rows if shown == "open" else risks.listed(ctx.session, ctx.me)
    today = date.today()
    heat = charts.heat_map(
        risks.heat_map(open_rows),
        LEVELS,
        title=ctx.t("Open risks by likelihood and impact"),
        x_label=ctx.t("Likelihood"),
        y_label=ctx.t("Impact"),
        chart_id="risk-heatmap",
    )
    return render(
        ctx,
        "assessments/risks.html",
        rows=rows,
        shown_status=status,
        heat=heat,
        due=risks.due(ctx.session, today, _notice(ctx), ctx.me.org_id),
        today=today,
        score=risks.score,
        level=risks.level,
        can_assess=may(ctx.me, Action.ASSESS),
    )


def _form_page(ctx: Ctx, risk: Risk | None, q: str) -> Response:
    linked = risks.linked(ctx.session, ctx.me, risk) if risk else []
    return render(
        ctx,
        "assessments/risk_form.html",
        risk=risk,
        linked=linked,
        suggestions=risks.threat_suggestions(ctx.session, ctx.me, q),
        q=q,
        treatments=risks.TREATMENTS,
        can_assess=may(ctx.me, Action.ASSESS),
    )


@router.get("/risks/new", response_class=HTMLResponse)
def new_form(ctx: Page, q: str = "") -> Response:
    return _form_page(ctx, None, q[:100])


@router.get("/risks/{risk_id}", response_class=HTMLResponse)
def edit_form(ctx: Page, risk_id: DbId, q: str = "") -> Response:
    return _form_page(ctx, risks.get(ctx.session, ctx.me, risk_id), q[:100])


def _data(ctx: Ctx) -> risks.RiskIn:
    def number(name: str) -> int:
        value = ctx.field(name)
        if not value.isdigit():
            raise InvalidInput(f"{name} goes from 1 to 5")
        return int(value)

    review = ctx.field("review_on")
    try:
        review_on = date.fromisoformat(review) if review else None
    except ValueError:
        raise InvalidInput("the review date must be a date (YYYY-MM-DD)") from None
    return risks.RiskIn(
        asset=ctx.field("asset"),
        service=ctx.field("service"),
        threat=ctx.field("threat"),
        threat_refs=tuple(ctx.fields("threat_refs")),
        likelihood=number("likelihood"),
        impact=number("impact"),
        treatment=ctx.field("treatment", "mitigate"),
        treatment_plan=ctx.field("treatment_plan"),
        owner=ctx.field("owner"),
        review_on=review_on,
        status=ctx.field("status", "open") or "open",
    )


@router.post("/risks/new", response_class=HTMLResponse)
def create(ctx: Page) -> Response:
    risk = risks.create(ctx.session, ctx.me, _data(ctx))
    ctx.session.commit()
    return redirect(ctx, f"/risks#risk-{risk.id}")


@router.post("/risks/{risk_id}", response_class=HTMLResponse)
def update(ctx: Page, risk_id: DbId) -> Response:
    risks.update(ctx.session, ctx.me, risk_id, _data(ctx))
    ctx.session.commit()
    return redirect(ctx, f"/risks#risk-{risk_id}")
