"""Organisational self-assessment on NIST CSF 2.0: current and target tier per subcategory, the
gap, a prioritised action plan with owners and dates, and the sector aggregate (with consent,
over at least three organisations)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from minga import audit
from minga.accounts.checks import require
from minga.accounts.models import Organisation
from minga.assessments import scoring
from minga.assessments.frameworks import Subcategory, csf
from minga.assessments.models import CsfAnswer, CsfAssessment
from minga.errors import Conflict, Forbidden, InvalidInput, NotFound
from minga.policy import (
    AGGREGATE_MIN_ORGS,
    Action,
    Principal,
    Target,
    may_read_assessment,
    may_see_sector_aggregate,
)


@dataclass(frozen=True, slots=True)
class Line:
    sub: Subcategory
    order: int
    current: int | None
    target: int | None
    importance: int
    action: str
    owner: str
    due_on: date | None
    notes: str

    @property
    def gap(self) -> int | None:
        return scoring.tier_gap(self.current, self.target)

    @property
    def score(self) -> int:
        return scoring.priority_score(self.gap, self.importance)

    @property
    def priority(self) -> str:
        return scoring.priority_band(self.score)


@dataclass(slots=True)
class CsfResult:
    assessment: CsfAssessment
    organisation: str
    sector: str
    lines: list[Line] = field(default_factory=list)

    def by_function(self) -> dict[str, dict[str, float | None]]:
        """Per function: mean current tier, mean target tier, mean gap (two decimals)."""
        out: dict[str, dict[str, float | None]] = {}
        for fn in csf().functions:
            mine = [ln for ln in self.lines if ln.sub.id.startswith(fn.id + ".")]
            out[fn.id] = {
                "current": scoring.mean((ln.current for ln in mine), 2),
                "target": scoring.mean((ln.target for ln in mine), 2),
                "gap": scoring.mean((ln.gap for ln in mine), 2),
            }
        return out

    def plan(self) -> list[Line]:
        by_id = {ln.sub.id: ln for ln in self.lines}
        order = scoring.plan_order(
            scoring.PlanItem(ln.sub.id, ln.order, ln.score, ln.due_on) for ln in self.lines
        )
        return [by_id[i.subcategory] for i in order]

    @property
    def assessed(self) -> int:
        return sum(1 for ln in self.lines if ln.current is not None and ln.target is not None)


def _now() -> datetime:
    return datetime.now(UTC)


def create(session: Session, principal: Principal, title: str) -> CsfAssessment:
    require(principal, Action.ASSESS, Target(principal.org_id))
    title = title.strip()
    if not title or len(title) > 200:
        raise InvalidInput("give the assessment a title (up to 200 characters)")
    now = _now()
    row = CsfAssessment(
        org_id=principal.org_id,
        title=title,
        status="draft",
        share_with_sector=False,
        created_by=principal.user_id,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    audit.record(session, principal, "csf.create", "csf-assessment", row.id)
    return row


def get(session: Session, principal: Principal, assessment_id: int) -> CsfAssessment:
    row = session.get(CsfAssessment, assessment_id)
    # A CSF assessment is the organisation's own: nobody else reads it (only aggregates).
    if row is None or not may_read_assessment(principal, row.org_id, completed=False):
        raise NotFound(f"no CSF assessment #{assessment_id}")
    return row


def listed(session: Session, principal: Principal) -> list[CsfAssessment]:
    return list(
        session.scalars(
            select(CsfAssessment)
            .where(CsfAssessment.org_id == principal.org_id)
            .order_by(CsfAssessment.created_at.desc(), CsfAssessment.id.desc())
        )
    )


def _editable(session: Session, principal: Principal, assessment_id: int) -> CsfAssessment:
    row = get(session, principal, assessment_id)
    require(principal, Action.ASSESS, Target(row.org_id))
    if row.status == "completed":
        raise Conflict("the assessment is completed: reopen it to change it")
    return row


def _tier(value: int | None, what: str) -> int | None:
    if value is not None and value not in range(scoring.TIER_MIN, scoring.TIER_MAX + 1):
        raise InvalidInput(f"the {what} tier goes from 1 (partial) to 4 (adaptive)")
    return value


def answer(
    session: Session,
    principal: Principal,
    assessment_id: int,
    subcategory: str,
    *,
    current: int | None,
    target: int | None,
    importance: int = 2,
    action: str = "",
    owner: str = "",
    due_on: date | None = None,
    notes: str = "",
) -> CsfAnswer:
    row = _editable(session, principal, assessment_id)
    if csf().subcategory(subcategory) is None:
        raise InvalidInput(f"no NIST CSF 2.0 subcategory {subcategory!r}")
    if importance not in scoring.IMPORTANCE:
        raise InvalidInput("importance is 1 (low), 2 (medium) or 3 (high)")
    ans = session.get(CsfAnswer, (row.id, subcategory))
    if ans is None:
        ans = CsfAnswer(assessment_id=row.id, subcategory=subcategory)
        session.add(ans)
    ans.current, ans.target = _tier(current, "current"), _tier(target, "target")
    ans.importance = importance
    ans.action, ans.owner, ans.notes = action.strip()[:5000], owner.strip()[:200], notes[:5000]
    ans.due_on = due_on
    ans.updated_at = row.updated_at = _now()
    audit.record(
        session, principal, "csf.answer", "csf-assessment", row.id, subcategory=subcategory
    )
    return ans


def set_consent(session: Session, principal: Principal, assessment_id: int, share: bool) -> None:
    """The organisation's consent to count this assessment in its sector's aggregate."""
    row = get(session, principal, assessment_id)
    require(principal, Action.ASSESS, Target(row.org_id))
    row.share_with_sector = share
    audit.record(session, principal, "csf.consent", "csf-assessment", row.id, share=share)


def complete(session: Session, principal: Principal, assessment_id: int) -> CsfResult:
    """Close it: every subcategory needs a current and a target tier, and every gap an action
    with an owner and a due date (the action plan is part of the assessment)."""
    row = _editable(session, principal, assessment_id)
    res = result(session, row)
    missing = len(res.lines) - res.assessed
    if missing:
        raise Conflict(f"{missing} subcategories have no current or target tier yet")
    unplanned = [ln.sub.id for ln in res.plan() if not (ln.action and ln.owner and ln.due_on)]
    if unplanned:
        raise Conflict(
            f"{len(unplanned)} gaps have no action, owner and due date: {', '.join(unplanned[:5])}"
        )
    row.status, row.completed_at = "completed", _now()
    audit.record(session, principal, "csf.complete", "csf-assessment", row.id)
    return res


def reopen(session: Session, principal: Principal, assessment_id: int) -> None:
    row = get(session, principal, assessment_id)
    require(principal, Action.ASSESS, Target(row.org_id))
    row.status, row.completed_at = "draft", None
    audit.record(session, principal, "csf.reopen", "csf-assessment", row.id)


def result(session: Session, row: CsfAssessment) -> CsfResult:
    answers = {
        a.subcategory: a
        for a in session.scalars(select(CsfAnswer).where(CsfAnswer.assessment_id == row.id))
    }
    org = session.get(Organisation, row.org_id)
    out = CsfResult(row, org.name if org else "", org.sector if org else "")
    for i, sub in enumerate(csf().subcategories):
        a = answers.get(sub.id)
        out.lines.append(
            Line(
                sub,
                i,
                a.current if a else None,
                a.target if a else None,
                a.importance if a else 2,
                a.action if a else "",
                a.owner if a else "",
                a.due_on if a else None,
                a.notes if a else "",
            )
        )
    return out


@dataclass(frozen=True, slots=True)
class Aggregate:
    sector: str
    organisations: int
    functions: dict[str, float | None]


def sector_aggregate(session: Session, principal: Principal, sector: str) -> Aggregate:
    """Mean current tier per function over the sector's organisations that consented (their
    newest completed assessment each); refused below three organisations."""
    own = session.get(Organisation, principal.org_id)
    rows = session.execute(
        select(CsfAssessment, Organisation.sector)
        .join(Organisation, Organisation.id == CsfAssessment.org_id)
        .where(
            Organisation.sector == sector,
            CsfAssessment.status == "completed",
            CsfAssessment.share_with_sector == True,  # noqa: E712
        )
        .order_by(CsfAssessment.completed_at.desc(), CsfAssessment.id.desc())
    )
    newest: dict[int, CsfAssessment] = {}
    for row, _ in rows:
        newest.setdefault(row.org_id, row)
    if not may_see_sector_aggregate(
        principal,
        own_sector=own.sector if own else "",
        sector=sector,
        consenting_orgs=len(newest),
    ):
        raise Forbidden(
            f"the {sector} aggregate is shown to the sector's coordinators only, and only over "
            f"at least {AGGREGATE_MIN_ORGS} organisations that consented"
        )
    per_org = []
    for row in newest.values():
        fns = result(session, row).by_function()
        per_org.append({f: v["current"] for f, v in fns.items()})
    return Aggregate(sector, len(newest), scoring.sector_aggregate(per_org))
