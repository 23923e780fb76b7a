"""Regional situation report: per country and sector, the trend of shared intelligence and
sightings, incidents and exercise participation (where those domains exist on the node) and
national maturity (CMM), always as the asking principal may see them (the policy's SQL filter).

`render_document` gives one standalone HTML document in es, pt or en, which is also what the
PDF is made from; `run_scheduled` renders and stores them every `MINGA_SITREP_HOURS`, as the
node operator sees the node."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, inspect, select
from sqlalchemy.orm import Session, sessionmaker

from minga.accounts.models import GroupMember, Organisation
from minga.accounts.node import operator_org_id
from minga.assessments import charts, cmm, documents, evidence
from minga.assessments.frameworks import CMM_SOURCE
from minga.assessments.frameworks import cmm as cmm_model
from minga.assessments.models import Sitrep
from minga.background import Periodic
from minga.db import unit_of_work
from minga.errors import NotFound
from minga.intel.models import object_groups, objects
from minga.policy import Principal, Role, may_read_assessment, visible_filter
from minga.reports.pdf import html_to_pdf

log = logging.getLogger("minga.assessments")
BUCKETS = 6
NOT_COUNTED = ("identity", "marking-definition", "relationship", "sighting")
CHECK_SECONDS = 600.0
# Evidence of other domains the report shows once they exist on the node.
EXPECTED_KINDS = ("incidents", "exercises")


@dataclass(frozen=True, slots=True)
class TrendKind:
    """Another domain's activity counted per organisation (incidents, exercise participation):
    registered by that domain; absent while its table is."""

    name: str
    table: str
    count: Callable[[Session, Principal, datetime], Counter[int]]


TRENDS: dict[str, TrendKind] = {}


def register_trend(kind: TrendKind) -> None:
    TRENDS[kind.name] = kind


@dataclass(slots=True)
class Row:
    key: str  # a country code or a sector
    shared: list[int] = field(default_factory=lambda: [0] * BUCKETS)
    sightings: list[int] = field(default_factory=lambda: [0] * BUCKETS)
    extra: dict[str, int] = field(default_factory=dict)
    organisations: int = 0

    @property
    def shared_total(self) -> int:
        return sum(self.shared)

    @property
    def sightings_total(self) -> int:
        return sum(self.sightings)

    @property
    def trend(self) -> int:
        """Shared in the second half of the period minus the first half."""
        half = BUCKETS // 2
        return sum(self.shared[half:]) - sum(self.shared[:half])


@dataclass(slots=True)
class SitrepData:
    generated_at: datetime
    since: date
    until: date
    period_days: int
    country: str
    sector: str
    bucket_starts: list[date]
    countries: list[Row]
    sectors: list[Row]
    extra_kinds: list[str]
    absent_kinds: list[str]
    maturity: dict[str, Any]  # country -> CmmResult


def collect(
    session: Session,
    principal: Principal,
    *,
    period_days: int = 30,
    country: str = "",
    sector: str = "",
    now: datetime | None = None,
) -> SitrepData:
    now = now or datetime.now(UTC)
    period_days = max(6, min(period_days, 3660))
    since = now - timedelta(days=period_days)
    since_us = int(since.timestamp() * 1_000_000)
    bucket_us = period_days * 86_400_000_000 // BUCKETS
    orgs = {o.id: o for o in session.scalars(select(Organisation))}
    wanted = {
        oid
        for oid, o in orgs.items()
        if (not country or o.country == country) and (not sector or o.sector == sector)
    }
    bucket = ((objects.c.added_us - since_us) // bucket_us).label("bucket")
    is_sighting = (objects.c.type == "sighting").label("is_sighting")
    stmt = (
        select(objects.c.owner_org_id, is_sighting, bucket, func.count())
        .where(
            visible_filter(principal, objects, object_groups),
            objects.c.is_latest == True,  # noqa: E712
            objects.c.added_us >= since_us,
            objects.c.type.not_in(NOT_COUNTED[:3]),
            objects.c.owner_org_id.in_(sorted(wanted) or [-1]),
            evidence.not_reference_knowledge(),
        )
        .group_by(objects.c.owner_org_id, is_sighting, bucket)
    )
    by_country: dict[str, Row] = {}
    by_sector: dict[str, Row] = {}
    for oid in wanted:
        o = orgs[oid]
        by_country.setdefault(o.country, Row(o.country)).organisations += 1
        by_sector.setdefault(o.sector, Row(o.sector)).organisations += 1
    for owner, sighted, b, n in session.execute(stmt):
        o = orgs[owner]
        i = min(BUCKETS - 1, max(0, int(b)))
        for row in (by_country[o.country], by_sector[o.sector]):
            (row.sightings if sighted else row.shared)[i] += int(n)
    extra, absent = [], []
    bind = inspect(session.get_bind())
    for kind in TRENDS.values():
        if not bind.has_table(kind.table):
            absent.append(kind.name)
            continue
        extra.append(kind.name)
        for owner, n in kind.count(session, principal, since).items():
            if owner in wanted:
                o = orgs[owner]
                for row in (by_country[o.country], by_sector[o.sector]):
                    row.extra[kind.name] = row.extra.get(kind.name, 0) + n
    maturity = {
        c: r
        for c, r in cmm.latest_completed(session, principal).items()
        if not country or c == country
    }
    return SitrepData(
        generated_at=now,
        since=since.date(),
        until=now.date(),
        period_days=period_days,
        country=country,
        sector=sector,
        bucket_starts=[
            (since + timedelta(microseconds=bucket_us * i)).date() for i in range(BUCKETS)
        ],
        countries=sorted(by_country.values(), key=lambda r: (-r.shared_total, r.key)),
        sectors=sorted(by_sector.values(), key=lambda r: (-r.shared_total, r.key)),
        extra_kinds=extra,
        absent_kinds=sorted({*absent, *(k for k in EXPECTED_KINDS if k not in TRENDS)}),
        maturity=maturity,
    )


def maturity_chart(data: SitrepData, title: str) -> Any:
    dims = [d.id for d in cmm_model().dimensions]
    series = [
        charts.Series(f"{c} {r.assessment.year}", [d.score for d in r.dimensions])
        for c, r in sorted(data.maturity.items())
    ]
    if not series:
        return ""
    return charts.radar(dims, series, top=5, title=title, chart_id="sitrep-maturity")


def render_document(data: SitrepData, lang: str, node_name: str) -> str:
    """The report as one standalone HTML document (inline SVG, inline style)."""
    t = documents.gettext_for(lang)
    chart = maturity_chart(data, t("National maturity (CMM 2021), mean stage per dimension"))
    return documents.render(
        "assessments/sitrep_document.html",
        lang,
        data=data,
        node_name=node_name,
        chart=chart,
        cmm_source=CMM_SOURCE,
        dimensions=cmm_model().dimensions,
    )


def render_pdf(data: SitrepData, lang: str, node_name: str) -> bytes:
    return html_to_pdf(render_document(data, lang, node_name))


def operator_view(session: Session) -> Principal | None:
    """The principal the scheduled report is made as: the node operator's organisation (what
    its administrators see); None before `minga init` named one."""
    org_id = operator_org_id(session)
    org = session.get(Organisation, org_id) if org_id is not None else None
    if org is None:
        return None
    groups = session.scalars(select(GroupMember.group_id).where(GroupMember.org_id == org.id))
    return Principal(
        user_id=0,
        org_id=org.id,
        role=Role.ADMIN,
        identity_ref=org.identity_ref,
        group_ids=frozenset(groups),
        user_name="scheduled situation report",
        operator_org=True,
    )


def store(session: Session, languages: list[str], period_days: int, node_name: str) -> list[Sitrep]:
    """Render the report in each language as the operator sees the node, and keep it."""
    view = operator_view(session)
    if view is None:
        return []
    data = collect(session, view, period_days=period_days)
    made = []
    for lang in languages:
        html = render_document(data, lang, node_name)
        row = Sitrep(
            created_at=data.generated_at,
            lang=lang,
            period_days=data.period_days,
            org_id=view.org_id,
            html=html,
            pdf=html_to_pdf(html),
        )
        session.add(row)
        made.append(row)
    session.flush()
    return made


def stored(session: Session, principal: Principal, limit: int = 50) -> list[Sitrep]:
    rows = session.scalars(select(Sitrep).order_by(Sitrep.created_at.desc(), Sitrep.id.desc()))
    return [r for r in rows if may_read_assessment(principal, r.org_id, completed=True)][:limit]


def get_stored(session: Session, principal: Principal, sitrep_id: int) -> Sitrep:
    row = session.get(Sitrep, sitrep_id)
    if row is None or not may_read_assessment(principal, row.org_id, completed=True):
        raise NotFound(f"no situation report #{sitrep_id}")
    return row


def due(session: Session, hours: int, now: datetime) -> bool:
    newest = session.scalar(select(func.max(Sitrep.created_at)))
    if newest is None:
        return True
    newest = newest if newest.tzinfo else newest.replace(tzinfo=UTC)
    return bool(newest + timedelta(hours=hours) <= now)


def run_scheduled(
    sessions: sessionmaker[Session],
    *,
    hours: int,
    languages: list[str],
    period_days: int,
    node_name: str,
    now: datetime | None = None,
) -> int:
    """Render and store the reports when the newest is `hours` old; how many were made."""
    with sessions() as s:
        if not due(s, hours, now or datetime.now(UTC)):
            return 0
    with unit_of_work(sessions) as s:
        made = store(s, languages, period_days, node_name)
    log.info("stored %d situation reports", len(made))
    return len(made)


def scheduler(sessions: sessionmaker[Session], settings: Any) -> Periodic:
    return Periodic(
        "sitreps",
        CHECK_SECONDS,
        lambda: run_scheduled(
            sessions,
            hours=settings.sitrep_hours,
            languages=settings.sitrep_language_list,
            period_days=settings.sitrep_period_days,
            node_name=settings.node_name,
        ),
    )
