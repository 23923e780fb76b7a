"""Printable reports of one assessment (what CSET calls its report): the CMM assessment with its
radar, stages, justifications, evidence and year-on-year table; the CSF assessment with its
gaps and action plan. HTML in es/pt/en, and PDF made from it."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from minga.assessments import charts, documents
from minga.assessments.cmm import CmmResult
from minga.assessments.csf import CsfResult
from minga.assessments.frameworks import CMM_SOURCE, CMM_SOURCE_URL, CSF_SOURCE, CSF_SOURCE_URL
from minga.assessments.frameworks import cmm as cmm_model
from minga.assessments.frameworks import csf as csf_model


def cmm_radar(res: CmmResult, history: list[CmmResult], title: str, chart_id: str) -> Markup:
    """Dimension scores of this assessment and up to two earlier years of the country."""
    shown = [h for h in history if h.assessment.year <= res.assessment.year][-3:] or [res]
    return charts.radar(
        [d.dimension.id for d in res.dimensions],
        [charts.Series(str(h.assessment.year), [d.score for d in h.dimensions]) for h in shown],
        top=5,
        title=title,
        chart_id=chart_id,
    )


def csf_radar(res: CsfResult, current: str, target: str, title: str, chart_id: str) -> Markup:
    summary = res.by_function()
    functions = [f.id for f in csf_model().functions]
    return charts.radar(
        functions,
        [
            charts.Series(current, [summary[f]["current"] for f in functions]),
            charts.Series(target, [summary[f]["target"] for f in functions]),
        ],
        top=4,
        title=title,
        chart_id=chart_id,
    )


def cmm_source() -> dict[str, Any]:
    model = cmm_model()
    return {
        "cmm_source": CMM_SOURCE,
        "cmm_source_url": CMM_SOURCE_URL,
        "cmm_edition": model.edition,
        "stages": model.stages,
    }


def cmm_html(res: CmmResult, history: list[CmmResult], lang: str, node_name: str) -> str:
    t = documents.gettext_for(lang)
    radar = cmm_radar(res, history, t("Mean stage per dimension"), "cmm-report")
    return documents.render(
        "assessments/cmm_document.html",
        lang,
        res=res,
        history=history,
        radar=radar,
        node_name=node_name,
        **cmm_source(),
    )


def csf_html(res: CsfResult, lang: str, node_name: str) -> str:
    t = documents.gettext_for(lang)
    radar = csf_radar(
        res,
        t("Current tier"),
        t("Target tier"),
        t("Mean current and target tier per function"),
        "csf-report",
    )
    model = csf_model()
    return documents.render(
        "assessments/csf_document.html",
        lang,
        res=res,
        radar=radar,
        summary=res.by_function(),
        functions=model.functions,
        plan=res.plan(),
        node_name=node_name,
        csf_source=CSF_SOURCE,
        csf_source_url=CSF_SOURCE_URL,
        csf_version=model.version,
        csf_published=model.published,
    )
