"""Publish forms: one indicator, or a report that groups objects found by search."""

from __future__ import annotations

import ipaddress
import re
import uuid
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from minga.errors import MingaError
from minga.extract import Ioc, IocType, ioc_to_stix_pattern, refang_value
from minga.intel import service as intel
from minga.intel.service import ObjectQuery
from minga.intel.stix import now_ts
from minga.policy import Action, Reach, Tlp
from minga.web import markings, views
from minga.web.i18n import N_
from minga.web.render import Ctx, Page, PageRoute, redirect, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)

KINDS: dict[str, str] = {
    "ipv4": N_("IPv4 address"),
    "ipv6": N_("IPv6 address"),
    "domain": N_("Domain name"),
    "url": N_("URL"),
    "email": N_("E-mail address"),
    "md5": N_("MD5 hash"),
    "sha1": N_("SHA-1 hash"),
    "sha256": N_("SHA-256 hash"),
    "sha512": N_("SHA-512 hash"),
}
_HEX = {"md5": 32, "sha1": 40, "sha256": 64, "sha512": 128}
_DOMAIN = re.compile(
    r"^(?=.{4,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{1,62}$"
)
_EMAIL = re.compile(r"^[^@\s]{1,64}@([a-z0-9-]+\.)+[a-z]{2,63}$")
REPORT_TYPES = (
    "threat-report",
    "campaign",
    "threat-actor",
    "malware",
    "vulnerability",
    "attack-pattern",
    "indicator",
)


def normalise(kind: str, value: str) -> str | None:
    """The canonical value of an indicator of `kind` (defanged input accepted), or None."""
    value = refang_value(value.strip())
    if kind == "ipv4":
        try:
            return str(ipaddress.IPv4Address(value))
        except ValueError:
            return None
    if kind == "ipv6":
        try:
            return str(ipaddress.IPv6Address(value))
        except ValueError:
            return None
    if kind in _HEX:
        value = value.lower()
        return value if re.fullmatch(rf"[0-9a-f]{{{_HEX[kind]}}}", value) else None
    if kind == "domain":
        value = value.lower().rstrip(".")
        return value if _DOMAIN.match(value) else None
    if kind == "email":
        value = value.lower()
        return value if _EMAIL.match(value) else None
    if kind == "url":
        return value if re.match(r"^[a-z][a-z0-9+.-]*://\S+$", value, re.I) else None
    return None


def choices(ctx: Ctx) -> tuple[Tlp, Reach, list[int], list[str]]:
    """TLP, reach and sharing groups from a posted form, with the problems found."""
    problems: list[str] = []
    try:
        tlp = Tlp(ctx.field("tlp", "amber"))
    except ValueError:
        tlp = Tlp.AMBER
        problems.append(ctx.t("Choose a TLP level."))
    try:
        reach = Reach(ctx.field("reach", "community"))
    except ValueError:
        reach = Reach.COMMUNITY
        problems.append(ctx.t("Choose how far it may travel."))
    allowed = {g.id for g in views.my_groups(ctx.session, ctx.me)}
    groups = [int(g) for g in ctx.fields("group") if g.isdigit() and int(g) in allowed]
    if len(groups) != len(ctx.fields("group")):
        problems.append(ctx.t("You can only share with your own sharing groups."))
    return tlp, reach, groups, problems


def _form_values(ctx: Ctx) -> dict[str, Any]:
    return {
        "tlp": ctx.field("tlp", "amber"),
        "reach": ctx.field("reach", "community"),
        "groups": {int(g) for g in ctx.fields("group") if g.isdigit()},
    }


def marking_context(ctx: Ctx) -> dict[str, Any]:
    return {
        "tlps": [t.value for t in Tlp],
        "reaches": [r.value for r in Reach],
        "share_groups": views.my_groups(ctx.session, ctx.me),
        "audience_table": markings.audience_table(),
    }


def _store(ctx: Ctx, obj: dict[str, Any], tlp: Tlp, reach: Reach, groups: list[int]) -> Response:
    result = intel.create_objects(
        ctx.session, ctx.me, [obj], tlp=tlp, reach=reach, group_ids=groups, link_known=True
    )
    ctx.session.commit()
    if result.linked:  # published before: the page of the indicator it became part of
        return redirect(ctx, f"/objects/{result.linked[0].id}?published=1&known=1")
    return redirect(ctx, f"/objects/{obj['id']}?published=1")


@router.get("/publish/indicator", response_class=HTMLResponse)
def indicator_form(ctx: Page) -> Response:
    ctx.activate()
    return render(
        ctx,
        "publish_indicator.html",
        kinds=KINDS,
        v={"kind": "ipv4", "tlp": "amber", "reach": "community", "groups": set()},
        errors=[],
        **marking_context(ctx),
    )


@router.post("/publish/indicator", response_class=HTMLResponse)
def publish_indicator(ctx: Page) -> Response:
    intel_may_publish(ctx)
    kind = ctx.field("kind")
    raw_value = ctx.field("value")
    tlp, reach, groups, problems = choices(ctx)
    value = normalise(kind, raw_value) if kind in KINDS else None
    if kind not in KINDS:
        problems.append(ctx.t("Choose what kind of indicator this is."))
    elif value is None:
        problems.append(ctx.t("The value is not a valid indicator of the chosen kind."))
    description = ctx.field("description")[:4000]
    name = ctx.field("name")[:200]
    if not problems and value is not None:
        ioc = Ioc(IocType(kind), value, raw_value, 0, len(raw_value), "")
        ts = now_ts()
        obj: dict[str, Any] = {
            "type": "indicator",
            "spec_version": "2.1",
            "id": f"indicator--{uuid.uuid4()}",
            "created": ts,
            "modified": ts,
            "name": name or value,
            "indicator_types": ["malicious-activity"],
            "pattern": ioc_to_stix_pattern(ioc),
            "pattern_type": "stix",
            "valid_from": ts,
        }
        if description:
            obj["description"] = description
        try:
            return _store(ctx, obj, tlp, reach, groups)
        except MingaError as exc:
            problems.append(exc.message)
    values = {**_form_values(ctx), "kind": kind, "value": raw_value, "name": name}
    values["description"] = description
    return render(
        ctx,
        "publish_indicator.html",
        422,
        kinds=KINDS,
        v=values,
        errors=problems,
        **marking_context(ctx),
    )


def intel_may_publish(ctx: Ctx) -> None:
    from minga.accounts.service import require

    require(ctx.me, Action.PUBLISH)


@router.get("/publish/report", response_class=HTMLResponse)
def report_form(ctx: Page) -> Response:
    return _report_page(ctx, {"tlp": "amber", "reach": "community", "groups": set()}, [], [], 200)


def _report_page(
    ctx: Ctx, values: dict[str, Any], chosen: list[str], errors: list[str], status: int
) -> Response:
    me = ctx.me
    orgs = views.organisations(ctx.session)
    q = str(values.get("q", ""))
    found = []
    if q:
        page = intel.list_objects(ctx.session, me, ObjectQuery(text=q[:200]), limit=25)
        found = [views.row(i, orgs) for i in page.items if i.stix_id not in chosen]
    names = views.names_of(ctx.session, me, chosen)
    return render(
        ctx,
        "publish_report.html",
        status,
        v=values,
        chosen=[(c, names.get(c, c)) for c in chosen],
        found=found,
        searched=bool(q),
        report_types=REPORT_TYPES,
        errors=errors,
        **marking_context(ctx),
    )


@router.post("/publish/report", response_class=HTMLResponse)
def publish_report(ctx: Page) -> Response:
    intel_may_publish(ctx)
    chosen = list(dict.fromkeys(ctx.fields("ref")))[:500]
    values = {
        **_form_values(ctx),
        "name": ctx.field("name")[:200],
        "description": ctx.field("description")[:4000],
        "report_type": ctx.field("report_type", "threat-report"),
        "q": ctx.field("q"),
    }
    if ctx.field("action") != "publish":
        return _report_page(ctx, values, chosen, [], 200)
    tlp, reach, groups, problems = choices(ctx)
    if not values["name"]:
        problems.append(ctx.t("Give the report a name."))
    if not chosen:
        problems.append(ctx.t("Add at least one object to the report: search for it and tick it."))
    if values["report_type"] not in REPORT_TYPES:
        problems.append(ctx.t("Choose a report type."))
    if not problems:
        ts = now_ts()
        obj: dict[str, Any] = {
            "type": "report",
            "spec_version": "2.1",
            "id": f"report--{uuid.uuid4()}",
            "created": ts,
            "modified": ts,
            "name": values["name"],
            "report_types": [values["report_type"]],
            "published": ts,
            "object_refs": chosen,
        }
        if values["description"]:
            obj["description"] = values["description"]
        try:
            return _store(ctx, obj, tlp, reach, groups)
        except MingaError as exc:
            problems.append(exc.message)
    return _report_page(ctx, values, chosen, problems, 422)
