"""Web pages of incidents: the list and board, opening one, the incident page (facts, clocks,
escalation hops, tasks, records, attachments, comments, timeline), the escalation view,
"my tasks", "my deadlines", and the incident report (HTML and PDF).

Visibility and authority are the services' (they ask `minga.policy`); a page shows refusals.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response

from minga.accounts import service as accounts
from minga.api.errors import status_of
from minga.errors import InvalidInput, MingaError
from minga.incidents import assistance, deadlines, federated, flows, playbooks, service, work
from minga.incidents.clock import clocks_doc, now_from
from minga.incidents.models import STATUSES
from minga.incidents.pages_desk import page
from minga.incidents.pages_desk import router as desk_router
from minga.incidents.reference import label_of, rsit_tags, severities
from minga.incidents.report import report_html
from minga.incidents.views_work import download
from minga.policy import Action, Target, may
from minga.web.render import Ctx, Page, PageRoute, redirect

router = APIRouter(prefix="/incidents", route_class=PageRoute, include_in_schema=False)
router.include_router(desk_router)  # fixed paths before /incidents/{incident_id}
TLPS = ("clear", "green", "amber", "amber+strict", "red")
PAPS = ("clear", "green", "amber", "red")


def _settings(ctx: Ctx) -> Any:
    return ctx.request.app.state.node.settings


def _now(ctx: Ctx) -> datetime:
    return now_from(ctx.request.app.state)


def _doc(ctx: Ctx) -> dict[str, Any]:
    return clocks_doc(_settings(ctx).incident_clocks)


@router.get("", response_class=HTMLResponse)
def list_page(
    ctx: Page,
    status: Annotated[str | None, Query(max_length=20)] = None,
    severity: Annotated[str | None, Query(max_length=40)] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    view: Annotated[str, Query(pattern="^(list|board)$")] = "list",
) -> Response:
    query = service.IncidentQuery(status=status or None, severity=severity or None, q=q or None)
    found = service.list_incidents(ctx.session, ctx.me, query)
    names = service.org_names(ctx.session, [i.org_id for i in found])
    rows = [
        {"i": i, "holder": names.get(i.org_id, ""), "label": label_of(i.classification)}
        for i in found
    ]
    board = {s: [r for r, i in zip(rows, found, strict=True) if i.status == s] for s in STATUSES}
    return page(
        ctx,
        "incidents/list.html",
        rows=rows,
        board=board,
        statuses=STATUSES,
        severities=severities(_settings(ctx).incident_severities),
        f={"status": status or "", "severity": severity or "", "q": q or ""},
        view=view,
        can_open=may(ctx.me, Action.WORK_INCIDENT, Target(org_id=ctx.me.org_id)),
    )


def _new_page(
    ctx: Ctx, code: int = 200, error: str = "", v: dict[str, str] | None = None
) -> Response:
    orgs = [o for o in accounts.list_organisations(ctx.session) if o.remote_node is None]
    return page(
        ctx,
        "incidents/new.html",
        code,
        error=error,
        v=v or {"tlp": "amber", "pap": "amber"},
        tags=[(t, label_of(t)) for t in rsit_tags(ctx.session)],
        severities=severities(_settings(ctx).incident_severities),
        tlps=TLPS,
        paps=PAPS,
        orgs=[o for o in orgs if o.id != ctx.me.org_id],
        books=[
            (b.key, b.title.get(ctx.lang, b.title["en"]))
            for b in playbooks.available(ctx.session, ctx.me).values()
        ],
    )


@router.get("/new", response_class=HTMLResponse)
def new_page(ctx: Page) -> Response:
    return _new_page(ctx)


@router.post("", response_class=HTMLResponse)
def create(ctx: Page) -> Response:
    keys = ("title", "classification", "severity", "description", "tlp", "pap", "sectors",
            "countries", "playbook")  # fmt: skip
    v = {k: ctx.field(k) for k in keys}
    try:
        data = service.IncidentIn(
            title=v["title"],
            classification=v["classification"],
            severity=v["severity"],
            description=v["description"],
            tlp=v["tlp"] or "amber",
            pap=v["pap"] or "amber",
            affected_org_ids=[int(x) for x in ctx.fields("affected") if x.isdigit()],
            sectors=v["sectors"].split(","),
            countries=v["countries"].split(","),
        )
        now = _now(ctx)
        incident = service.create_incident(
            ctx.session, ctx.me, data, severity_scale=_settings(ctx).incident_severities, at=now
        )
        if v["playbook"]:
            playbooks.apply_playbook(
                ctx.session, ctx.me, incident.id, v["playbook"], ctx.lang, at=now
            )
        ctx.session.commit()
    except MingaError as exc:
        ctx.session.rollback()
        return _new_page(ctx, status_of(exc), exc.message, v)
    return redirect(ctx, f"/incidents/{incident.id}")


def _incident_page(ctx: Ctx, incident_id: int, code: int = 200, error: str = "") -> Response:
    s, me, now = ctx.session, ctx.me, _now(ctx)
    incident = service.get_incident(s, me, incident_id)
    target = service.target_of(s, incident)
    named = service.named_orgs(s, incident.id)
    tasks = work.tasks_of(s, me, incident.id)
    names = service.org_names(
        s, [incident.org_id] + [n.org_id for n in named] + [t.org_id for t in tasks]
    )
    hop_in = next(
        (h for h in flows.chain(s, me, incident.id, now) if h.to_incident_id == incident.id), None
    )
    orgs = [
        o
        for o in accounts.list_organisations(s)
        if o.remote_node is None and o.id != incident.org_id
    ]
    return page(
        ctx,
        "incidents/incident.html",
        code,
        error=error,
        i=incident,
        label=label_of(incident.classification),
        holder=names.get(incident.org_id, ""),
        named=[(names.get(n.org_id, ""), n.role) for n in named],
        clocks=deadlines.clocks(s, incident, _doc(ctx), now),
        hops=flows.chain(s, me, incident.id, now),
        hop_in=hop_in,
        tasks=[(t, names.get(t.org_id, "")) for t in tasks],
        records=work.records_of(s, me, incident.id),
        attachments=work.attachments_of(s, me, incident.id),
        comments=work.comments_of(s, me, incident.id),
        timeline=service.timeline(s, me, incident.id),
        statuses=STATUSES,
        tlps=TLPS,
        paps=PAPS,
        redactable=flows.REDACTABLE,
        orgs=orgs,
        books=[
            (b.key, b.title.get(ctx.lang, b.title["en"]))
            for b in playbooks.available(ctx.session, ctx.me).values()
        ],
        can_work=may(me, Action.WORK_INCIDENT, target),
        can_escalate=may(me, Action.ESCALATE_INCIDENT, Target(org_id=incident.org_id)),
        can_ack=hop_in is not None
        and hop_in.acknowledged_at is None
        and may(me, Action.ESCALATE_INCIDENT, Target(org_id=incident.org_id)),
        now=now,
    )


@router.get("/attachments/{attachment_id}")
def attachment(ctx: Page, attachment_id: int) -> Response:
    return download(work.get_attachment(ctx.session, ctx.me, attachment_id))


@router.get("/{incident_id}", response_class=HTMLResponse)
def incident_page(ctx: Page, incident_id: int) -> Response:
    return _incident_page(ctx, incident_id)


@router.get("/{incident_id}/escalation", response_class=HTMLResponse)
def escalation_page(ctx: Page, incident_id: int) -> Response:
    incident = service.get_incident(ctx.session, ctx.me, incident_id)
    hops = flows.chain(ctx.session, ctx.me, incident.id, _now(ctx))
    return page(ctx, "incidents/escalation.html", i=incident, hops=hops, now=_now(ctx))


def _act(ctx: Ctx, incident_id: int, action: Callable[[datetime], object]) -> Response:
    """Run a change, commit it and go back to the incident; a refusal is shown on the page."""
    try:
        action(_now(ctx))
        ctx.session.commit()
    except MingaError as exc:
        ctx.session.rollback()
        return _incident_page(ctx, incident_id, status_of(exc), exc.message)
    return redirect(ctx, f"/incidents/{incident_id}")


@router.post("/{incident_id}/status", response_class=HTMLResponse)
def set_status(ctx: Page, incident_id: int) -> Response:
    status = ctx.field("status")
    return _act(
        ctx,
        incident_id,
        lambda at: service.set_status(ctx.session, ctx.me, incident_id, status, at=at),
    )


@router.post("/{incident_id}/note", response_class=HTMLResponse)
def add_note(ctx: Page, incident_id: int) -> Response:
    text = ctx.field("text")
    return _act(
        ctx,
        incident_id,
        lambda at: service.add_entry(ctx.session, ctx.me, incident_id, text, at=at),
    )


@router.post("/{incident_id}/comment", response_class=HTMLResponse)
def add_comment(ctx: Page, incident_id: int) -> Response:
    body = ctx.field("body")
    return _act(
        ctx, incident_id, lambda at: work.add_comment(ctx.session, ctx.me, incident_id, body, at=at)
    )


def _due(value: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput("the due date is YYYY-MM-DDTHH:MM") from None
    return service.aware(parsed)


@router.post("/{incident_id}/task", response_class=HTMLResponse)
def add_task(ctx: Page, incident_id: int) -> Response:
    title, phase, due = ctx.field("title"), ctx.field("phase"), ctx.field("due_at")
    return _act(
        ctx, incident_id,
        lambda at: work.add_task(ctx.session, ctx.me, incident_id, title=title, phase=phase,
                                 due_at=_due(due), at=at),
    )  # fmt: skip


@router.post("/{incident_id}/tasks/{task_id}/done", response_class=HTMLResponse)
def task_done(ctx: Page, incident_id: int, task_id: int) -> Response:
    done = ctx.field("done") != "0"
    return _act(
        ctx, incident_id, lambda at: work.set_task_done(ctx.session, ctx.me, task_id, done, at=at)
    )


@router.post("/{incident_id}/playbook", response_class=HTMLResponse)
def apply_playbook(ctx: Page, incident_id: int) -> Response:
    name = ctx.field("playbook")
    lang = ctx.lang
    return _act(
        ctx,
        incident_id,
        lambda at: playbooks.apply_playbook(ctx.session, ctx.me, incident_id, name, lang, at=at),
    )


@router.post("/{incident_id}/records", response_class=HTMLResponse)
def link_record(ctx: Page, incident_id: int) -> Response:
    stix_id, tlp, pap = (
        ctx.field("stix_id"),
        ctx.field("tlp") or "amber",
        ctx.field("pap") or "amber",
    )
    s, me = ctx.session, ctx.me
    return _act(
        ctx,
        incident_id,
        lambda at: work.link_record(s, me, incident_id, stix_id, tlp=tlp, pap=pap, at=at),
    )


@router.post("/{incident_id}/escalate", response_class=HTMLResponse)
def escalate(ctx: Page, incident_id: int) -> Response:
    settings = _settings(ctx)
    to = ctx.field("to_org_id")
    hours = ctx.field("ack_hours")

    def run(at: datetime) -> object:
        if not to.isdigit():
            raise InvalidInput("choose the organisation at the next level")
        try:
            ack = float(hours) if hours else settings.incident_ack_hours
        except ValueError:
            raise InvalidInput("the acknowledgement deadline is a number of hours") from None
        hop = flows.escalate(
            ctx.session, ctx.me, incident_id, to_org_id=int(to), tlp=ctx.field("tlp") or "amber",
            pap=ctx.field("pap") or "amber", share=ctx.fields("share"), redact=ctx.fields("redact"),
            ack_hours=ack, severity_scale=settings.incident_severities, at=at,
        )  # fmt: skip
        ctx.session.flush()
        federated.deliver(ctx.session, hop, node_name=settings.node_name)
        return hop

    return _act(ctx, incident_id, run)


@router.post("/{incident_id}/assistance", response_class=HTMLResponse)
def ask_assistance(ctx: Page, incident_id: int) -> Response:
    to, what = ctx.field("to_org_id"), ctx.field("what")

    def run(at: datetime) -> object:
        if not to.isdigit():
            raise InvalidInput("choose the organisation to ask")
        return assistance.ask(ctx.session, ctx.me, incident_id, int(to), what, at=at)

    return _act(ctx, incident_id, run)


@router.post("/{incident_id}/acknowledge", response_class=HTMLResponse)
def acknowledge(ctx: Page, incident_id: int) -> Response:
    node_name = _settings(ctx).node_name

    def run(at: datetime) -> object:
        hop = flows.acknowledge(ctx.session, ctx.me, incident_id, at=at)
        ctx.session.flush()
        federated.deliver(ctx.session, hop, node_name=node_name)
        return hop

    return _act(ctx, incident_id, run)


@router.post("/{incident_id}/clocks/{clock}", response_class=HTMLResponse)
def mark_clock(ctx: Page, incident_id: int, clock: str) -> Response:
    doc = _doc(ctx)
    return _act(
        ctx, incident_id,
        lambda at: deadlines.mark_clock(ctx.session, ctx.me, incident_id, clock, doc, at=at),
    )  # fmt: skip


@router.post("/{incident_id}/attachments", response_class=HTMLResponse)
async def add_attachment(ctx: Page, incident_id: int) -> Response:
    from starlette.datastructures import UploadFile

    upload = ctx.form.get("file") if ctx.form is not None else None
    limit = _settings(ctx).incident_attachment_max_bytes
    content = await upload.read(limit + 1) if isinstance(upload, UploadFile) else b""
    name = upload.filename or "attachment" if isinstance(upload, UploadFile) else ""
    tlp = ctx.field("tlp") or "amber"
    return _act(
        ctx, incident_id,
        lambda at: work.add_attachment(ctx.session, ctx.me, incident_id, name=name, content=content,
                                       tlp=tlp, max_bytes=limit, at=at),
    )  # fmt: skip


@router.get("/{incident_id}/report.html", response_class=HTMLResponse)
def report_page(ctx: Page, incident_id: int) -> Response:
    ctx.activate()
    html = report_html(ctx.session, ctx.me, incident_id, ctx.web.env, ctx.lang, _now(ctx))
    return HTMLResponse(
        html, headers={"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"}
    )


@router.get("/{incident_id}/report.pdf")
def report_pdf(ctx: Page, incident_id: int) -> Response:
    from minga.reports.pdf import html_to_pdf

    ctx.activate()
    html = report_html(ctx.session, ctx.me, incident_id, ctx.web.env, ctx.lang, _now(ctx))
    return Response(
        html_to_pdf(html),
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="incident-{incident_id}-{ctx.lang}.pdf"'
        },
    )
