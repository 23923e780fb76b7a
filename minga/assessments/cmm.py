"""National self-assessment on CMM 2021: a stage per aspect with its justification and evidence,
aggregated per factor and dimension (`scoring`), year-on-year, with ITU GCI pillar scores as
external context."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from minga import audit
from minga.accounts.checks import require
from minga.accounts.models import Organisation
from minga.assessments import scoring
from minga.assessments.frameworks import Aspect, Dimension, Factor, cmm
from minga.assessments.models import CmmAnswer, CmmAssessment
from minga.errors import Conflict, InvalidInput, NotFound
from minga.policy import Action, Principal, Target, is_node_operator, may_read_assessment

GCI_PILLARS = ("legal", "technical", "organizational", "capacity_development", "cooperation")
GCI_PILLAR_MAX = 20.0
EVIDENCE_MAX = 50


@dataclass(frozen=True, slots=True)
class AspectResult:
    aspect: Aspect
    stage: int | None
    justification: str
    evidence: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class FactorResult:
    factor: Factor
    stage: int | None
    aspects: list[AspectResult]


@dataclass(frozen=True, slots=True)
class DimensionResult:
    dimension: Dimension
    score: float | None
    factors: list[FactorResult]


@dataclass(slots=True)
class CmmResult:
    assessment: CmmAssessment
    organisation: str
    dimensions: list[DimensionResult] = field(default_factory=list)

    @property
    def overall(self) -> float | None:
        return scoring.mean(d.score for d in self.dimensions)

    @property
    def assessed(self) -> int:
        return sum(1 for d in self.dimensions for f in d.factors for a in f.aspects if a.stage)

    @property
    def total(self) -> int:
        return sum(len(f.aspects) for d in self.dimensions for f in d.factors)

    @property
    def gci(self) -> dict[str, Any]:
        value: dict[str, Any] = orjson.loads(self.assessment.gci or "{}")
        return value


def _now() -> datetime:
    return datetime.now(UTC)


def create(session: Session, principal: Principal, year: int) -> CmmAssessment:
    """A new draft for the principal's organisation's country and `year`."""
    require(principal, Action.ASSESS, Target(principal.org_id))
    if not 2000 <= year <= 2100:
        raise InvalidInput("the year must be between 2000 and 2100")
    org = session.get(Organisation, principal.org_id)
    assert org is not None
    taken = session.scalar(
        select(CmmAssessment.id).where(CmmAssessment.org_id == org.id, CmmAssessment.year == year)
    )
    if taken is not None:
        raise Conflict(f"{org.name} already has a CMM assessment for {year} (#{taken})")
    now = _now()
    row = CmmAssessment(
        org_id=org.id,
        country=org.country,
        year=year,
        status="draft",
        gci="{}",
        created_by=principal.user_id,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    audit.record(session, principal, "cmm.create", "cmm-assessment", row.id, year=year)
    return row


def get(session: Session, principal: Principal, assessment_id: int) -> CmmAssessment:
    row = session.get(CmmAssessment, assessment_id)
    if row is None or not may_read_assessment(
        principal, row.org_id, completed=row.status == "completed"
    ):
        raise NotFound(f"no CMM assessment #{assessment_id}")
    return row


def listed(
    session: Session, principal: Principal, country: str | None = None
) -> list[CmmAssessment]:
    """The organisation's assessments; for the node operator also every completed one."""
    stmt = select(CmmAssessment).order_by(CmmAssessment.country, CmmAssessment.year.desc())
    if country:
        stmt = stmt.where(CmmAssessment.country == country.upper())
    rows = session.scalars(stmt)
    return [
        r
        for r in rows
        if may_read_assessment(principal, r.org_id, completed=r.status == "completed")
    ]


def _editable(session: Session, principal: Principal, assessment_id: int) -> CmmAssessment:
    row = get(session, principal, assessment_id)
    require(principal, Action.ASSESS, Target(row.org_id))
    if row.status == "completed":
        raise Conflict("the assessment is completed: reopen it to change it")
    return row


def _clean_evidence(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if len(items) > EVIDENCE_MAX:
        raise InvalidInput(f"at most {EVIDENCE_MAX} evidence links per aspect")
    clean = []
    for item in items:
        url = str(item.get("url", "")).strip()
        label = str(item.get("label", "")).strip()[:500]
        if not label:
            raise InvalidInput("every evidence link needs a label")
        if url and not url.startswith(("/", "https://", "http://")):
            raise InvalidInput(f"evidence link {url!r} is neither a page of this node nor a URL")
        clean.append(
            {
                "kind": str(item.get("kind", "document"))[:40],
                "ref": str(item.get("ref", url or label))[:300],
                "label": label,
                "url": url[:1000],
            }
        )
    return clean


def answer(
    session: Session,
    principal: Principal,
    assessment_id: int,
    aspect_key: str,
    *,
    stage: int | None,
    justification: str,
    evidence: list[dict[str, Any]],
) -> CmmAnswer:
    """Give one aspect its stage (1 start-up … 5 dynamic), why, and its evidence."""
    row = _editable(session, principal, assessment_id)
    if cmm().aspect(aspect_key) is None:
        raise InvalidInput(f"no CMM 2021 aspect {aspect_key!r}")
    if stage is not None and stage not in range(scoring.STAGE_MIN, scoring.STAGE_MAX + 1):
        raise InvalidInput("a stage goes from 1 (start-up) to 5 (dynamic)")
    if stage is not None and not justification.strip():
        raise InvalidInput("say why the aspect is at that stage (justification)")
    ans = session.get(CmmAnswer, (row.id, aspect_key))
    if ans is None:
        ans = CmmAnswer(assessment_id=row.id, aspect_key=aspect_key)
        session.add(ans)
    ans.stage = stage
    ans.justification = justification.strip()[:10_000]
    ans.evidence = orjson.dumps(_clean_evidence(evidence)).decode()
    ans.updated_at = row.updated_at = _now()
    audit.record(
        session, principal, "cmm.answer", "cmm-assessment", row.id, aspect=aspect_key, stage=stage
    )
    return ans


def set_gci(
    session: Session,
    principal: Principal,
    assessment_id: int,
    edition: str,
    scores: dict[str, float],
) -> None:
    """Enter the country's ITU GCI pillar scores (0–20 each) as external context."""
    row = _editable(session, principal, assessment_id)
    unknown = set(scores) - set(GCI_PILLARS)
    if unknown:
        raise InvalidInput(f"unknown GCI pillar(s): {', '.join(sorted(unknown))}")
    for pillar, value in scores.items():
        if not 0 <= value <= GCI_PILLAR_MAX:
            raise InvalidInput(f"the GCI {pillar} score goes from 0 to 20")
    row.gci = orjson.dumps({"edition": edition.strip()[:40], "scores": scores}).decode()
    row.updated_at = _now()
    audit.record(session, principal, "cmm.gci", "cmm-assessment", row.id, edition=edition)


def complete(session: Session, principal: Principal, assessment_id: int) -> CmmResult:
    """Close the assessment: every aspect needs a stage."""
    row = _editable(session, principal, assessment_id)
    res = result(session, row)
    missing = res.total - res.assessed
    if missing:
        raise Conflict(f"{missing} aspect(s) have no stage yet")
    row.status, row.completed_at = "completed", _now()
    audit.record(session, principal, "cmm.complete", "cmm-assessment", row.id)
    return res


def reopen(session: Session, principal: Principal, assessment_id: int) -> None:
    row = get(session, principal, assessment_id)
    require(principal, Action.ASSESS, Target(row.org_id))
    row.status, row.completed_at = "draft", None
    audit.record(session, principal, "cmm.reopen", "cmm-assessment", row.id)


def result(session: Session, row: CmmAssessment) -> CmmResult:
    """The assessment laid over the CMM structure, with factor stages and dimension scores."""
    answers = {
        a.aspect_key: a
        for a in session.scalars(select(CmmAnswer).where(CmmAnswer.assessment_id == row.id))
    }
    org = session.get(Organisation, row.org_id)
    out = CmmResult(row, org.name if org else "")
    for dim in cmm().dimensions:
        factors = []
        for factor in dim.factors:
            aspects = []
            for aspect in factor.aspects:
                a = answers.get(aspect.key)
                aspects.append(
                    AspectResult(
                        aspect,
                        a.stage if a else None,
                        a.justification if a else "",
                        orjson.loads(a.evidence) if a else [],
                    )
                )
            stage = scoring.factor_stage([a.stage for a in aspects])
            factors.append(FactorResult(factor, stage, aspects))
        score = scoring.dimension_score([f.stage for f in factors])
        out.dimensions.append(DimensionResult(dim, score, factors))
    return out


def history(session: Session, principal: Principal, row: CmmAssessment) -> list[CmmResult]:
    """Every assessment of the same country the principal may read, oldest first (year on
    year); the organisation's own drafts included, others' only once completed."""
    rows = session.scalars(
        select(CmmAssessment)
        .where(CmmAssessment.country == row.country)
        .order_by(CmmAssessment.year, CmmAssessment.id)
    )
    return [
        result(session, r)
        for r in rows
        if may_read_assessment(principal, r.org_id, completed=r.status == "completed")
    ]


def latest_completed(session: Session, principal: Principal) -> dict[str, CmmResult]:
    """Country -> its newest completed assessment the principal may read (situation report)."""
    found: dict[str, CmmResult] = {}
    rows = session.scalars(
        select(CmmAssessment)
        .where(CmmAssessment.status == "completed")
        .order_by(CmmAssessment.year.desc(), CmmAssessment.id.desc())
    )
    for r in rows:
        if r.country in found or not may_read_assessment(principal, r.org_id, completed=True):
            continue
        found[r.country] = result(session, r)
    return found


def is_operator_view(principal: Principal) -> bool:
    return is_node_operator(principal)
