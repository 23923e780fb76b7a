"""Exports that mirror each questionnaire's structure: JSON nested as the model is (CMM:
dimension > factor > aspect; CSF: function > category > subcategory) and CSV with one row per
aspect or subcategory, its path in the columns."""

from __future__ import annotations

import csv
import io
from typing import Any

from minga.assessments import frameworks
from minga.assessments.cmm import CmmResult
from minga.assessments.csf import CsfResult
from minga.assessments.frameworks import CMM_SOURCE, CMM_SOURCE_URL, CSF_SOURCE, CSF_SOURCE_URL

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    """A CSV cell a spreadsheet will not run as a formula (text starting with = + - @)."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _row(values: list[Any]) -> list[Any]:
    return [_cell(v) for v in values]


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def cmm_json(res: CmmResult) -> dict[str, Any]:
    model = frameworks.cmm()
    stages = {s.n: s for s in model.stages}
    a = res.assessment
    return {
        "model": model.model,
        "edition": model.edition,
        "source": CMM_SOURCE,
        "source_url": CMM_SOURCE_URL,
        "name_verification": model.verification,
        "assessment": {
            "id": a.id,
            "country": a.country,
            "year": a.year,
            "organisation": res.organisation,
            "status": a.status,
            "completed_at": _iso(a.completed_at),
        },
        "overall_score": res.overall,
        "gci": res.gci,
        "stages": [{"n": s.n, "id": s.id, "names": s.names} for s in model.stages],
        "dimensions": [
            {
                "id": d.dimension.id,
                "name": d.dimension.name,
                "score": d.score,
                "factors": [
                    {
                        "id": f.factor.id,
                        "name": f.factor.name,
                        "stage": f.stage,
                        "stage_id": stages[f.stage].id if f.stage else None,
                        "aspects": [
                            {
                                "key": x.aspect.key,
                                "name": x.aspect.name,
                                "stage": x.stage,
                                "stage_id": stages[x.stage].id if x.stage else None,
                                "justification": x.justification,
                                "evidence": x.evidence,
                            }
                            for x in f.aspects
                        ],
                    }
                    for f in d.factors
                ],
            }
            for d in res.dimensions
        ],
    }


CMM_COLUMNS = [
    "country",
    "year",
    "dimension_id",
    "dimension",
    "factor_id",
    "factor",
    "factor_stage",
    "aspect_key",
    "aspect",
    "stage",
    "stage_id",
    "justification",
    "evidence",
]


def cmm_csv(res: CmmResult) -> str:
    stages = {s.n: s.id for s in frameworks.cmm().stages}
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(CMM_COLUMNS)
    a = res.assessment
    for d in res.dimensions:
        for f in d.factors:
            for x in f.aspects:
                evidence = " | ".join(
                    f"{e['label']} <{e['url']}>" if e.get("url") else e["label"] for e in x.evidence
                )
                w.writerow(
                    _row(
                        [
                            a.country,
                            a.year,
                            d.dimension.id,
                            d.dimension.name,
                            f.factor.id,
                            f.factor.name,
                            f.stage or "",
                            x.aspect.key,
                            x.aspect.name,
                            x.stage or "",
                            stages.get(x.stage or 0, ""),
                            x.justification,
                            evidence,
                        ]
                    )
                )
    return out.getvalue()


def csf_json(res: CsfResult) -> dict[str, Any]:
    model = frameworks.csf()
    lines = {ln.sub.id: ln for ln in res.lines}
    a = res.assessment
    summary = res.by_function()
    return {
        "framework": model.title,
        "version": model.version,
        "published": model.published,
        "source": CSF_SOURCE,
        "source_url": CSF_SOURCE_URL,
        "tiers": {str(k): v for k, v in frameworks.TIERS.items()},
        "assessment": {
            "id": a.id,
            "title": a.title,
            "organisation": res.organisation,
            "sector": res.sector,
            "status": a.status,
            "share_with_sector": a.share_with_sector,
            "completed_at": _iso(a.completed_at),
        },
        "functions": [
            {
                "id": fn.id,
                "title": fn.title,
                **summary[fn.id],
                "categories": [
                    {
                        "id": cat.id,
                        "title": cat.title,
                        "subcategories": [_csf_line(lines[s.id]) for s in cat.subcategories],
                    }
                    for cat in fn.categories
                ],
            }
            for fn in model.functions
        ],
        "action_plan": [{"rank": i, **_csf_line(ln)} for i, ln in enumerate(res.plan(), 1)],
    }


def _csf_line(ln: Any) -> dict[str, Any]:
    return {
        "id": ln.sub.id,
        "statement": ln.sub.statement,
        "current_tier": ln.current,
        "target_tier": ln.target,
        "gap": ln.gap,
        "importance": ln.importance,
        "priority_score": ln.score,
        "priority": ln.priority,
        "action": ln.action,
        "owner": ln.owner,
        "due_on": _iso(ln.due_on),
        "notes": ln.notes,
    }


CSF_COLUMNS = [
    "function",
    "category",
    "subcategory",
    "statement",
    "current_tier",
    "target_tier",
    "gap",
    "importance",
    "priority_score",
    "priority",
    "action",
    "owner",
    "due_on",
    "notes",
]


def csf_csv(res: CsfResult) -> str:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(CSF_COLUMNS)
    for ln in res.lines:
        row = _csf_line(ln)
        w.writerow(
            _row(
                [ln.sub.id.split(".")[0], ln.sub.category_id]
                + [
                    row[k] if row[k] is not None else ""
                    for k in (
                        "id",
                        "statement",
                        "current_tier",
                        "target_tier",
                        "gap",
                        "importance",
                        "priority_score",
                        "priority",
                        "action",
                        "owner",
                        "due_on",
                        "notes",
                    )
                ]
            )
        )
    return out.getvalue()
