"""The risk register: assets and services, threats linked to the intelligence the node holds,
likelihood × impact on a 5 × 5 matrix (`scoring`), treatment, owner and review date."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from minga import audit
from minga.accounts.checks import require
from minga.accounts.models import Organisation
from minga.assessments import scoring
from minga.assessments.models import Risk
from minga.errors import InvalidInput, NotFound
from minga.intel.models import objects
from minga.intel.queries import ObjectQuery, query_statement, stored_object
from minga.intel.stats import visible_by_ids
from minga.policy import Action, Principal, Target, may_read_assessment

TREATMENTS = ("mitigate", "accept", "transfer", "avoid")
STATUSES = ("open", "closed")
THREAT_TYPES = ("campaign", "intrusion-set", "malware", "threat-actor", "attack-pattern", "report")
REFS_MAX = 20
DEFAULT_REVIEW_DAYS = 90


@dataclass(frozen=True, slots=True)
class RiskIn:
    asset: str
    threat: str
    likelihood: int
    impact: int
    service: str = ""
    threat_refs: tuple[str, ...] = ()
    treatment: str = "mitigate"
    treatment_plan: str = ""
    owner: str = ""
    review_on: date | None = None
    status: str = "open"


@dataclass(frozen=True, slots=True)
class ThreatRef:
    stix_id: str
    type: str
    name: str
    owner: str
    country: str
    sector: str


def score(risk: Risk) -> int:
    return scoring.risk_score(risk.likelihood, risk.impact)


def level(risk: Risk) -> str:
    return scoring.risk_level(score(risk))


def refs(risk: Risk) -> list[str]:
    value: list[str] = orjson.loads(risk.threat_refs or "[]")
    return value


def _check(data: RiskIn) -> None:
    if not data.asset.strip() or len(data.asset) > 300:
        raise InvalidInput("name the asset or service at risk (up to 300 characters)")
    if not data.threat.strip() or len(data.threat) > 500:
        raise InvalidInput("describe the threat (up to 500 characters)")
    if data.likelihood not in scoring.SCALE or data.impact not in scoring.SCALE:
        raise InvalidInput("likelihood and impact go from 1 to 5")
    if data.treatment not in TREATMENTS:
        raise InvalidInput(f"treatment is one of {', '.join(TREATMENTS)}")
    if data.status not in STATUSES:
        raise InvalidInput("status is open or closed")
    if len(data.threat_refs) > REFS_MAX or any(
        "--" not in r or len(r) > 128 for r in data.threat_refs
    ):
        raise InvalidInput(f"threat links are up to {REFS_MAX} STIX ids (type--uuid)")


def _apply(session: Session, principal: Principal, risk: Risk, data: RiskIn) -> None:
    _check(data)
    # Only intelligence the principal may see can be linked (unknown and hidden look alike).
    seen = {o.stix_id for o in visible_by_ids(session, principal, list(data.threat_refs))}
    hidden = [r for r in data.threat_refs if r not in seen]
    if hidden:
        raise InvalidInput(f"no object {hidden[0]} that you may see")
    risk.asset, risk.service = data.asset.strip(), data.service.strip()[:300]
    risk.threat = data.threat.strip()
    risk.threat_refs = orjson.dumps(list(dict.fromkeys(data.threat_refs))).decode()
    risk.likelihood, risk.impact = data.likelihood, data.impact
    risk.treatment, risk.treatment_plan = data.treatment, data.treatment_plan.strip()[:5000]
    risk.owner, risk.status = data.owner.strip()[:200], data.status
    risk.review_on = data.review_on or (date.today() + timedelta(days=DEFAULT_REVIEW_DAYS))
    risk.updated_at = datetime.now(UTC)


def create(session: Session, principal: Principal, data: RiskIn) -> Risk:
    require(principal, Action.ASSESS, Target(principal.org_id))
    risk = Risk(org_id=principal.org_id, created_at=datetime.now(UTC))
    _apply(session, principal, risk, data)
    session.add(risk)
    session.flush()
    audit.record(session, principal, "risk.create", "risk", risk.id, score=score(risk))
    return risk


def get(session: Session, principal: Principal, risk_id: int) -> Risk:
    risk = session.get(Risk, risk_id)
    if risk is None or not may_read_assessment(principal, risk.org_id, completed=False):
        raise NotFound(f"no risk #{risk_id}")
    return risk


def update(session: Session, principal: Principal, risk_id: int, data: RiskIn) -> Risk:
    risk = get(session, principal, risk_id)
    require(principal, Action.ASSESS, Target(risk.org_id))
    _apply(session, principal, risk, data)
    audit.record(session, principal, "risk.update", "risk", risk.id, score=score(risk))
    return risk


def listed(session: Session, principal: Principal, *, status: str | None = "open") -> list[Risk]:
    stmt = select(Risk).where(Risk.org_id == principal.org_id)
    if status:
        stmt = stmt.where(Risk.status == status)
    rows = list(session.scalars(stmt.order_by(Risk.id)))
    return sorted(rows, key=lambda r: (-score(r), r.review_on, r.id))


def due(session: Session, today: date, notice_days: int, org_id: int | None = None) -> list[Risk]:
    """Open risks whose review is due within `notice_days` (or overdue), soonest first; of one
    organisation, or of all (the reminder job)."""
    stmt = select(Risk).where(
        Risk.status == "open", Risk.review_on <= today + timedelta(days=notice_days)
    )
    if org_id is not None:
        stmt = stmt.where(Risk.org_id == org_id)
    return list(session.scalars(stmt.order_by(Risk.review_on, Risk.id)))


def heat_map(risks: list[Risk]) -> list[list[int]]:
    return scoring.heat_map((r.likelihood, r.impact) for r in risks)


def threat_suggestions(
    session: Session, principal: Principal, text: str = "", limit: int = 30
) -> list[ThreatRef]:
    """Threat intelligence seen in the organisation's sector or country (campaigns, intrusion
    sets, malware, ...), newest first, that the principal may see; `text` narrows it
    ("ransomware")."""
    own = session.get(Organisation, principal.org_id)
    if own is None:
        return []
    peers = {
        o.id: o
        for o in session.scalars(
            select(Organisation).where(
                (Organisation.sector == own.sector) | (Organisation.country == own.country)
            )
        )
    }
    q = ObjectQuery(types=THREAT_TYPES, text=text.strip()[:100] or None)
    stmt = query_statement(principal, q).order_by(objects.c.added_us.desc()).limit(limit * 5)
    found: list[ThreatRef] = []
    for row in session.execute(stmt):
        item = stored_object(row)
        org = peers.get(item.owner_org_id)
        if org is None:
            continue
        obj: dict[str, Any] = item.object()
        found.append(
            ThreatRef(
                item.stix_id,
                item.type,
                str(obj.get("name", item.stix_id))[:200],
                org.name,
                org.country,
                org.sector,
            )
        )
        if len(found) >= limit:
            break
    return found


def linked(session: Session, principal: Principal, risk: Risk) -> list[ThreatRef]:
    """The linked intelligence the principal may still see (a recalled object drops out)."""
    orgs = {o.id: o for o in session.scalars(select(Organisation))}
    out = []
    for item in visible_by_ids(session, principal, refs(risk)):
        org = orgs.get(item.owner_org_id)
        obj = item.object()
        out.append(
            ThreatRef(
                item.stix_id,
                item.type,
                str(obj.get("name", item.stix_id))[:200],
                org.name if org else "",
                org.country if org else "",
                org.sector if org else "",
            )
        )
    return out
