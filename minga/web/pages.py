"""Sign-in, dashboard, object list and object detail pages."""

from __future__ import annotations

import time
from typing import Any

import orjson
from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from minga.accounts import service as accounts
from minga.api.deps import get_node
from minga.correlate import sighting_pages
from minga.correlate.pages import correlation_section
from minga.errors import InvalidInput
from minga.federation import receipt_tally
from minga.incidents.work import incidents_holding
from minga.ingest import files
from minga.intel import service as intel
from minga.intel import stats
from minga.intel.service import ObjectQuery
from minga.intel.stix import SCO_TYPES
from minga.knowledge.annotate import notes_for_object
from minga.policy import Reach, Tlp, may_version
from minga.web import charts, labels, markings, views
from minga.web.render import Page, PageRoute, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)
PAGE_SIZE = 50
NEW_DAYS = 7
NEW_CAP = 1_000
FEDERATED = (Reach.CONNECTED, Reach.FEDERATION)
# Not news for an analyst: bare relationships, and the identity of every organisation that joins.
NOT_NEWS = ("relationship", "identity")


def _country_bars(ctx: Page, summary: stats.Summary) -> list[charts.Bar]:
    orgs = views.organisations(ctx.session)
    by_country: dict[str, int] = {}
    for owner, count in summary.by_owner.items():
        if owner in orgs and not orgs[owner].member:
            continue  # the node itself (reference knowledge it loaded) is no member country
        country = orgs[owner].country if owner in orgs else "?"
        by_country[country] = by_country.get(country, 0) + count
    ranked = sorted(by_country.items(), key=lambda kv: (-kv[1], kv[0]))[:8]
    return [charts.Bar(c, n, _num(ctx, n)) for c, n in ranked]


def _num(ctx: Page, value: int) -> str:
    ctx.activate()
    return ctx.web.env.filters["number"](value)


@router.get("/", response_class=HTMLResponse)
def dashboard(ctx: Page) -> Response:
    me = ctx.me
    session = ctx.session
    ctx.activate()
    orgs = views.organisations(session)
    since = int(time.time() * 1_000_000) - NEW_DAYS * 86400 * 1_000_000
    new_count = stats.capped_count(
        session,
        me,
        ObjectQuery(added_after_us=since),
        cap=NEW_CAP,
        not_owner=me.org_id,
        not_types=NOT_NEWS,
    )
    new_items = stats.newest(
        session, me, ObjectQuery(), limit=10, not_owner=me.org_id, not_types=NOT_NEWS
    )
    # One query per type: each walks its own (type, added) index instead of the whole store.
    campaigns = sorted(
        [
            o
            for t in ("campaign", "intrusion-set")
            for o in stats.newest(session, me, ObjectQuery(types=[t]), limit=5)
        ],
        key=lambda o: (o.added_us, o.pk),
        reverse=True,
    )[:5]
    reports = stats.newest(session, me, ObjectQuery(types=["report"]), limit=5)
    summary = stats.recent_summary(session, me)
    type_bars = [
        charts.Bar(labels.type_label(t), n, _num(ctx, n)) for t, n in summary.by_type.most_common(8)
    ]
    tlp_bars = [
        charts.Bar(
            f"TLP:{t.value.upper()}",
            summary.by_tlp[t.value],
            _num(ctx, summary.by_tlp[t.value]),
            t.value,
        )
        for t in Tlp
    ]
    ctx.activate()
    t = ctx.t
    return render(
        ctx,
        "dashboard.html",
        new_count=new_count,
        new_capped=new_count > NEW_CAP,
        new_cap=NEW_CAP,
        new_days=NEW_DAYS,
        new_items=views.rows(session, me, new_items, orgs),
        campaigns=views.rows(session, me, campaigns, orgs),
        reports=views.rows(session, me, reports, orgs),
        examined=summary.examined,
        window=stats.WINDOW,
        chart_types=charts.bar_chart(type_bars, t("Objects by type"), "c-type"),
        chart_tlp=charts.bar_chart(tlp_bars, t("Objects by TLP"), "c-tlp"),
        chart_country=charts.bar_chart(
            _country_bars(ctx, summary),
            t("Objects by country of the sharing organisation"),
            "c-country",
        ),
    )


@router.get("/objects", response_class=HTMLResponse)
def object_list(
    ctx: Page,
    q: str = "",
    type: str = "",
    tlp: str = "",
    owner: str = "",
    cursor: str = "",
) -> Response:
    me = ctx.me
    query = ObjectQuery(
        types=[type] if type else (),
        tlps=[level] if (level := intel.parse_tlp(tlp)) else (),
        owner_org_id=int(owner) if owner.isdigit() else None,
        text=q.strip()[:200] or None,
    )
    if owner and not owner.isdigit():
        raise InvalidInput("owner must be an organisation id")
    page = intel.list_objects(ctx.session, me, query, limit=PAGE_SIZE, cursor=cursor or None)
    orgs = views.organisations(ctx.session)
    ctx.activate()
    return render(
        ctx,
        "objects.html",
        rows=views.rows(ctx.session, me, page.items, orgs),
        scores=sighting_pages.list_scores(ctx.session, [i.stix_id for i in page.items]),
        next_cursor=page.next_cursor,
        first_page=not cursor,
        types=views.LISTED_TYPES,
        tlps=[level.value for level in Tlp],
        orgs=sorted(orgs.values(), key=lambda o: o.name),
        f={"q": q, "type": type, "tlp": tlp, "owner": owner},
    )


def _properties(obj: dict[str, Any]) -> list[tuple[str, str]]:
    hidden = {"id", "type", "spec_version", "object_marking_refs", "created_by_ref", "object_refs"}
    shown: list[tuple[str, str]] = []
    for key, value in obj.items():
        if key in hidden or key.startswith("x_minga"):
            continue
        if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
            shown.append((key, ", ".join(str(v) for v in value)))
        elif isinstance(value, str | int | float | bool):
            shown.append((key, str(value)))
    return shown


@router.get("/objects/{stix_id}", response_class=HTMLResponse)
def object_detail(
    ctx: Page,
    stix_id: str,
    version: str = "",
    published: str = "",
    saved: str = "",
    revoked: str = "",
    sighted: str = "",
    known: str = "",
) -> Response:
    done = "saved" if saved == "1" else "revoked" if revoked == "1" else ""
    me = ctx.me
    session = ctx.session
    item = intel.get_object(session, me, stix_id, version or None)
    history = intel.versions(session, me, stix_id)
    marking = intel.marking_of(session, item)
    groups = [g for g in accounts.list_groups(session) if g.id in marking.group_ids]
    orgs = views.organisations(session)
    obj = item.object()
    relations = stats.relationships_of(session, me, stix_id)
    related_ids = [
        r.object().get(end)
        for r in relations
        for end in ("source_ref", "target_ref")
        if r.object().get(end) != stix_id
    ]
    refs = [r for r in obj.get("object_refs", []) if isinstance(r, str)]
    names = views.names_of(session, me, [i for i in related_ids if i] + refs)
    rel_rows = []
    for r in relations:
        rel = r.object()
        outgoing = rel.get("source_ref") == stix_id
        other = rel.get("target_ref") if outgoing else rel.get("source_ref")
        rel_rows.append(
            {
                "type": rel.get("relationship_type", ""),
                "outgoing": outgoing,
                "other": other,
                "other_name": names.get(other or ""),
                "tlp": r.tlp.value,
                "owner": orgs[r.owner_org_id].name if r.owner_org_id in orgs else "",
            }
        )
    owner = orgs.get(item.owner_org_id)
    # Receipts are kept at the origin node: only there does the tally mean anything, and only
    # for an object that may leave the node.
    tally = None
    if item.origin_node is None:
        held = receipt_tally.summary(session, item.stix_id)
        if held.received or item.reach in FEDERATED or marking.group_ids:
            tally = held
    return render(
        ctx,
        "object.html",
        item=views.row(item, orgs),
        obj=obj,
        owner=owner,
        source=item.source,
        origin_node=item.origin_node,
        history=[views.row(v, orgs) for v in reversed(history)],
        groups=groups,
        audience=markings.audience(item.tlp, item.reach, marking.group_ids),
        relations=rel_rows,
        refs=[(r, names.get(r)) for r in refs],
        knowledge=notes_for_object(session, obj, [*refs, *(i for i in related_ids if i)]),
        properties=_properties(obj),
        raw=orjson.dumps(obj, option=orjson.OPT_INDENT_2).decode(),
        published=published == "1",
        done=done if done in ("saved", "revoked") else "",
        can_change=may_version(me, marking) and item.type not in SCO_TYPES,
        relationship_scan=stats.RELATIONSHIP_SCAN,
        receipts=tally,
        original_file=item.type == "report"
        and bool(files.reports_with_files(session, [item.stix_id])),
        incidents=incidents_holding(session, me, stix_id),
        sight=sighting_pages.panel(session, me, item),
        sighted=sighted == "1",
        **correlation_section(session, me, item, get_node(ctx.request).settings.correlation_limit),
        already_known=int(known) if known.isdigit() and len(known) < 7 else 0,
    )
