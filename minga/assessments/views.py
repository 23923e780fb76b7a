"""REST of the assessments: `/api/assessments` (CMM 2021 and NIST CSF 2.0) and `/api/risks`
(the risk register). Exports mirror each questionnaire's structure (JSON or CSV)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from minga.api.deps import CurrentPrincipal, DbId, NodeDep, SessionDep
from minga.assessments import cmm, csf, evidence, exports, frameworks, risks
from minga.assessments.models import Risk

router = APIRouter(tags=["assessments"])
Format = Annotated[Literal["json", "csv"], Query(description="json (nested) or csv (flat)")]
AspectKey = Annotated[str, Path(max_length=16, description="e.g. D1.2.1 (D2.3.0: whole factor)")]
SubId = Annotated[str, Path(max_length=16, description="a CSF 2.0 subcategory, e.g. GV.OC-01")]


class CmmIn(BaseModel):
    year: int = Field(ge=2000, le=2100)


class EvidenceIn(BaseModel):
    kind: str = Field(default="document", max_length=40)
    ref: str = Field(default="", max_length=300)
    label: str = Field(min_length=1, max_length=500)
    url: str = Field(default="", max_length=1000)


class AspectIn(BaseModel):
    stage: int | None = Field(default=None, ge=1, le=5, description="1 start-up … 5 dynamic")
    justification: str = Field(default="", max_length=10_000)
    evidence: list[EvidenceIn] = Field(default_factory=list, max_length=50)


class GciIn(BaseModel):
    edition: str = Field(max_length=40, description="e.g. GCI 2024")
    scores: dict[str, float] = Field(description=f"pillar -> 0..20; {', '.join(cmm.GCI_PILLARS)}")


class CsfIn(BaseModel):
    title: str = Field(min_length=1, max_length=200)


class SubcategoryIn(BaseModel):
    current: int | None = Field(default=None, ge=1, le=4)
    target: int | None = Field(default=None, ge=1, le=4)
    importance: int = Field(default=2, ge=1, le=3, description="1 low, 2 medium, 3 high")
    action: str = Field(default="", max_length=5000)
    owner: str = Field(default="", max_length=200)
    due_on: date | None = None
    notes: str = Field(default="", max_length=5000)


class ConsentIn(BaseModel):
    share_with_sector: bool


class RiskBody(BaseModel):
    asset: str = Field(min_length=1, max_length=300)
    service: str = Field(default="", max_length=300)
    threat: str = Field(min_length=1, max_length=500)
    threat_refs: list[str] = Field(default_factory=list, max_length=20)
    likelihood: int = Field(ge=1, le=5)
    impact: int = Field(ge=1, le=5)
    treatment: str = Field(default="mitigate", description=", ".join(risks.TREATMENTS))
    treatment_plan: str = Field(default="", max_length=5000)
    owner: str = Field(default="", max_length=200)
    review_on: date | None = Field(default=None, description="default: in 90 days")
    status: str = Field(default="open", description="open or closed")


def _summary_cmm(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "country": row.country,
        "year": row.year,
        "status": row.status,
        "url": f"/api/assessments/cmm/{row.id}",
    }


def _export(data: Any, fmt: str, name: str) -> Response:
    if fmt == "csv":
        return Response(
            data,
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    import orjson

    return Response(orjson.dumps(data, option=orjson.OPT_INDENT_2), media_type="application/json")


@router.get("/api/assessments/frameworks/cmm", summary="The CMM 2021 questionnaire")
def cmm_framework(principal: CurrentPrincipal) -> dict[str, Any]:
    model = frameworks.cmm()
    return {"source": frameworks.CMM_SOURCE, **asdict(model)}


@router.get("/api/assessments/frameworks/csf", summary="The NIST CSF 2.0 catalogue")
def csf_framework(principal: CurrentPrincipal) -> dict[str, Any]:
    return {"source": frameworks.CSF_SOURCE, "tiers": frameworks.TIERS, **asdict(frameworks.csf())}


@router.get("/api/assessments/cmm", summary="CMM assessments you may read")
def list_cmm(
    session: SessionDep, principal: CurrentPrincipal, country: str | None = None
) -> list[dict[str, Any]]:
    return [_summary_cmm(r) for r in cmm.listed(session, principal, country)]


@router.post("/api/assessments/cmm", status_code=201, summary="Start a national CMM assessment")
def create_cmm(body: CmmIn, session: SessionDep, principal: CurrentPrincipal) -> dict[str, Any]:
    row = cmm.create(session, principal, body.year)
    out = _summary_cmm(row)
    session.commit()
    return out


@router.get("/api/assessments/cmm/{assessment_id}", summary="A CMM assessment, as exported")
def get_cmm(
    assessment_id: DbId, session: SessionDep, principal: CurrentPrincipal, format: Format = "json"
) -> Response:
    res = cmm.result(session, cmm.get(session, principal, assessment_id))
    name = f"cmm-{res.assessment.country}-{res.assessment.year}"
    return _export(exports.cmm_csv(res) if format == "csv" else exports.cmm_json(res), format, name)


@router.put("/api/assessments/cmm/{assessment_id}/aspects/{aspect_key}")
def put_aspect(
    assessment_id: DbId,
    aspect_key: AspectKey,
    body: AspectIn,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> dict[str, Any]:
    ans = cmm.answer(
        session,
        principal,
        assessment_id,
        aspect_key,
        stage=body.stage,
        justification=body.justification,
        evidence=[e.model_dump() for e in body.evidence],
    )
    out = {"aspect": ans.aspect_key, "stage": ans.stage}
    session.commit()
    return out


@router.put("/api/assessments/cmm/{assessment_id}/gci", summary="ITU GCI pillar scores")
def put_gci(
    assessment_id: DbId, body: GciIn, session: SessionDep, principal: CurrentPrincipal
) -> dict[str, str]:
    cmm.set_gci(session, principal, assessment_id, body.edition, body.scores)
    session.commit()
    return {"status": "saved"}


@router.get("/api/assessments/cmm/{assessment_id}/evidence", summary="Evidence the node holds")
def cmm_evidence(
    assessment_id: DbId, session: SessionDep, principal: CurrentPrincipal
) -> dict[str, list[dict[str, Any]]]:
    row = cmm.get(session, principal, assessment_id)
    found = evidence.for_country(session, principal, row.country)
    return {f: [link.as_dict() for link in links] for f, links in found.items()}


@router.post("/api/assessments/cmm/{assessment_id}/complete")
def complete_cmm(
    assessment_id: DbId, session: SessionDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    res = cmm.complete(session, principal, assessment_id)
    out = exports.cmm_json(res)
    session.commit()
    return out


@router.post("/api/assessments/cmm/{assessment_id}/reopen")
def reopen_cmm(
    assessment_id: DbId, session: SessionDep, principal: CurrentPrincipal
) -> dict[str, str]:
    cmm.reopen(session, principal, assessment_id)
    session.commit()
    return {"status": "draft"}


@router.get("/api/assessments/csf", summary="Your organisation's CSF assessments")
def list_csf(session: SessionDep, principal: CurrentPrincipal) -> list[dict[str, Any]]:
    return [
        {"id": r.id, "title": r.title, "status": r.status, "url": f"/api/assessments/csf/{r.id}"}
        for r in csf.listed(session, principal)
    ]


@router.post("/api/assessments/csf", status_code=201, summary="Start a NIST CSF 2.0 assessment")
def create_csf(body: CsfIn, session: SessionDep, principal: CurrentPrincipal) -> dict[str, Any]:
    row = csf.create(session, principal, body.title)
    out = {"id": row.id, "title": row.title, "status": row.status}
    session.commit()
    return out


@router.get("/api/assessments/csf/aggregate", summary="A sector's aggregate (≥ 3, consenting)")
def csf_aggregate(
    session: SessionDep,
    principal: CurrentPrincipal,
    sector: Annotated[str, Query(max_length=64)],
) -> dict[str, Any]:
    return asdict(csf.sector_aggregate(session, principal, sector))


@router.get("/api/assessments/csf/{assessment_id}", summary="A CSF assessment, as exported")
def get_csf(
    assessment_id: DbId, session: SessionDep, principal: CurrentPrincipal, format: Format = "json"
) -> Response:
    res = csf.result(session, csf.get(session, principal, assessment_id))
    data = exports.csf_csv(res) if format == "csv" else exports.csf_json(res)
    return _export(data, format, f"csf-{res.assessment.id}")


@router.put("/api/assessments/csf/{assessment_id}/subcategories/{subcategory}")
def put_subcategory(
    assessment_id: DbId,
    subcategory: SubId,
    body: SubcategoryIn,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> dict[str, Any]:
    ans = csf.answer(session, principal, assessment_id, subcategory, **body.model_dump())
    out = {"subcategory": ans.subcategory, "current": ans.current, "target": ans.target}
    session.commit()
    return out


@router.put("/api/assessments/csf/{assessment_id}/consent")
def put_consent(
    assessment_id: DbId, body: ConsentIn, session: SessionDep, principal: CurrentPrincipal
) -> dict[str, bool]:
    csf.set_consent(session, principal, assessment_id, body.share_with_sector)
    session.commit()
    return {"share_with_sector": body.share_with_sector}


@router.post("/api/assessments/csf/{assessment_id}/complete")
def complete_csf(
    assessment_id: DbId, session: SessionDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    res = csf.complete(session, principal, assessment_id)
    out = exports.csf_json(res)
    session.commit()
    return out


@router.post("/api/assessments/csf/{assessment_id}/reopen")
def reopen_csf(
    assessment_id: DbId, session: SessionDep, principal: CurrentPrincipal
) -> dict[str, str]:
    csf.reopen(session, principal, assessment_id)
    session.commit()
    return {"status": "draft"}


# -- risk register -----------------------------------------------------------------------------


def risk_out(session: Any, principal: Any, risk: Risk, notice_days: int) -> dict[str, Any]:
    from minga.assessments.scoring import review_due

    return {
        "id": risk.id,
        "asset": risk.asset,
        "service": risk.service,
        "threat": risk.threat,
        "threat_refs": [asdict(t) for t in risks.linked(session, principal, risk)],
        "likelihood": risk.likelihood,
        "impact": risk.impact,
        "score": risks.score(risk),
        "level": risks.level(risk),
        "treatment": risk.treatment,
        "treatment_plan": risk.treatment_plan,
        "owner": risk.owner,
        "review_on": risk.review_on.isoformat(),
        "status": risk.status,
        "review_due": review_due(risk.review_on, date.today(), notice_days),
    }


def _risk_in(body: RiskBody) -> risks.RiskIn:
    data = body.model_dump()
    data["threat_refs"] = tuple(body.threat_refs)
    return risks.RiskIn(**data)


@router.get("/api/risks", tags=["risks"], summary="Your organisation's risk register")
def list_risks(
    session: SessionDep,
    principal: CurrentPrincipal,
    node: NodeDep,
    status: Literal["open", "closed", "all"] = "open",
    due: Annotated[bool, Query(description="only risks whose review is due")] = False,
) -> list[dict[str, Any]]:
    notice = node.settings.risk_review_notice_days
    if due:
        rows = risks.due(session, date.today(), notice, principal.org_id)
    else:
        rows = risks.listed(session, principal, status=None if status == "all" else status)
    return [risk_out(session, principal, r, notice) for r in rows]


@router.post("/api/risks", tags=["risks"], status_code=201, summary="Add a risk")
def create_risk(
    body: RiskBody, session: SessionDep, principal: CurrentPrincipal, node: NodeDep
) -> dict[str, Any]:
    risk = risks.create(session, principal, _risk_in(body))
    out = risk_out(session, principal, risk, node.settings.risk_review_notice_days)
    session.commit()
    return out


@router.get("/api/risks/heatmap", tags=["risks"], summary="Open risks per likelihood × impact")
def risk_heatmap(session: SessionDep, principal: CurrentPrincipal) -> dict[str, Any]:
    grid = risks.heat_map(risks.listed(session, principal))
    return {"rows": "impact 1..5", "columns": "likelihood 1..5", "counts": grid}


@router.get("/api/risks/threats", tags=["risks"], summary="Threat intelligence to link")
def risk_threats(
    session: SessionDep,
    principal: CurrentPrincipal,
    q: Annotated[str, Query(max_length=100, description="e.g. ransomware")] = "",
) -> list[dict[str, Any]]:
    return [asdict(t) for t in risks.threat_suggestions(session, principal, q)]


@router.get("/api/risks/{risk_id}", tags=["risks"])
def get_risk(
    risk_id: DbId, session: SessionDep, principal: CurrentPrincipal, node: NodeDep
) -> dict[str, Any]:
    risk = risks.get(session, principal, risk_id)
    return risk_out(session, principal, risk, node.settings.risk_review_notice_days)


@router.put("/api/risks/{risk_id}", tags=["risks"], summary="Change or review a risk")
def put_risk(
    risk_id: DbId, body: RiskBody, session: SessionDep, principal: CurrentPrincipal, node: NodeDep
) -> dict[str, Any]:
    risk = risks.update(session, principal, risk_id, _risk_in(body))
    out = risk_out(session, principal, risk, node.settings.risk_review_notice_days)
    session.commit()
    return out
