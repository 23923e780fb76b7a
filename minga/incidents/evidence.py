"""Incidents as evidence for the national maturity assessment (CMM D1.2, incident response)
and as a trend of the situation report: counted per holding organisation, over the incidents
the reader may see (`policy.incident_filter`), so an assessment never reveals one it may not."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from minga.assessments import evidence, sitrep
from minga.incidents.models import Incident, IncidentOrg
from minga.policy import Principal, incident_filter, real_only
from minga.web.i18n import N_

HANDLED_LABEL = N_("%(org)s: %(num)s incidents handled in %(days)s days, %(resolved)s resolved")


def _counts(
    session: Session, principal: Principal, since: datetime, org_ids: list[int] | None = None
) -> dict[int, tuple[int, int]]:
    """Holding organisation -> (incidents opened since `since`, of them resolved or closed)."""
    table = Incident.__table__
    stmt = (
        select(table.c.org_id, func.count(), func.count(table.c.resolved_at))
        .where(incident_filter(principal, table, IncidentOrg.__table__), real_only(table))
        .where(table.c.created_at >= since)
        .group_by(table.c.org_id)
    )
    if org_ids is not None:
        stmt = stmt.where(table.c.org_id.in_(org_ids))
    return {int(org): (int(n), int(r or 0)) for org, n, r in session.execute(stmt)}


def handled(
    session: Session, principal: Principal, country: str, t: evidence.Translate = str
) -> list[evidence.EvidenceLink]:
    orgs = evidence.country_orgs(session, country)
    if not orgs:
        return []
    since = datetime.now(UTC) - timedelta(days=evidence.WINDOW_DAYS)
    counts = _counts(session, principal, since, [o.id for o in orgs])
    return [
        evidence.EvidenceLink(
            "incidents",
            f"incidents:org:{o.id}",
            t(HANDLED_LABEL)
            % {
                "org": o.name,
                "num": counts[o.id][0],
                "days": evidence.WINDOW_DAYS,
                "resolved": counts[o.id][1],
            },
            "/incidents/measures?" + urlencode({"by": "organisation"}),
            counts[o.id][0],
        )
        for o in orgs
        if o.id in counts
    ]


def opened(session: Session, principal: Principal, since: datetime) -> Counter[int]:
    return Counter({org: n for org, (n, _) in _counts(session, principal, since).items()})


evidence.register(evidence.EvidenceKind("incidents", ("D1.2",), handled, table="incidents"))
sitrep.register_trend(sitrep.TrendKind("incidents", "incidents", opened))
