"""`minga incident list|show|create|escalate|acknowledge|status|deadlines|import-thehive|export`."""

from __future__ import annotations

import json
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session

from minga.accounts import service as accounts
from minga.accounts.models import Organisation, User
from minga.errors import MingaError
from minga.federation import peers
from minga.incidents import deadlines, federated, flows, interop, playbooks, service
from minga.incidents.clock import clocks_doc
from minga.incidents.models import STATUSES
from minga.incidents.reference import label_of
from minga.policy import Principal
from minga.settings import Settings

incident_app = typer.Typer(no_args_is_help=True, help="Incidents: cases, escalation, deadlines.")
out = Console()

UserOpt = Annotated[str | None, typer.Option("--user", help="Act as this user (default: admin).")]


def _scope() -> AbstractContextManager[Session]:
    from minga.cli import session_scope

    return session_scope()


def _settings() -> Settings:
    from minga.cli import fail

    try:
        return Settings()
    except Exception as exc:  # pydantic's ValidationError lists every bad variable
        raise fail(f"bad MINGA_* setting: {exc}", 2) from None


def _principal(session: Session, name: str | None) -> Principal:
    if name:
        user = accounts.find_user(session, name)
    else:
        found = session.scalar(select(User).where(User.role == "admin").order_by(User.id))
        if found is None:
            raise MingaError("no admin user: run `minga init` or give --user NAME")
        user = found
    return accounts.principal_for(session, user)


def _org(session: Session, ref: str) -> int:
    org = session.get(Organisation, int(ref)) if ref.isdigit() else None
    org = org or session.scalar(select(Organisation).where(Organisation.name == ref))
    if org is None:
        raise MingaError(f"no organisation {ref!r} (give its id or exact name)")
    return org.id


def _when(value: datetime | None) -> str:
    return f"{service.aware(value):%Y-%m-%d %H:%M} UTC" if value else "—"


@incident_app.command("list")
def incident_list(
    user: UserOpt = None,
    status: Annotated[str | None, typer.Option(help=" | ".join(STATUSES))] = None,
    severity: Annotated[str | None, typer.Option(help="On the node's scale.")] = None,
    q: Annotated[str | None, typer.Option(help="Words of the title.")] = None,
) -> None:
    """The incidents the user may see, most recently changed first."""
    with _scope() as session:
        principal = _principal(session, user)
        query = service.IncidentQuery(status=status, severity=severity, q=q)
        table = Table("id", "title", "status", "severity", "TLP", "holder", "updated")
        found = service.list_incidents(session, principal, query)
        names = service.org_names(session, [i.org_id for i in found])
        for i in found:
            table.add_row(
                str(i.id), i.title, i.status, i.severity, i.tlp.upper(), names.get(i.org_id, ""),
                _when(i.updated_at),
            )  # fmt: skip
    out.print(table)


@incident_app.command("show")
def incident_show(
    incident_id: Annotated[int, typer.Argument(help="Incident id.")], user: UserOpt = None
) -> None:
    """An incident: its facts, escalation hops, regulatory clocks and timeline."""
    settings = _settings()
    with _scope() as session:
        principal = _principal(session, user)
        i = service.get_incident(session, principal, incident_id)
        now = service.utcnow()
        names = service.org_names(session, [i.org_id])
        out.print(f"[bold]#{i.id} {i.title}[/]", highlight=False)
        for label, value in [
            ("Status", i.status),
            ("Classification", label_of(i.classification)),
            ("Severity", i.severity),
            ("TLP / PAP", f"{i.tlp.upper()} / {i.pap.upper()}"),
            ("Held by", names.get(i.org_id, "")),
            ("Detected", _when(i.detected_at)),
        ]:
            out.print(f"{label + ':':<16}{value}", highlight=False)
        for h in flows.chain(session, principal, i.id, now):
            out.print(
                f"hop #{h.from_incident_id} {h.from_org} → #{h.to_incident_id} {h.to_org}:"
                f" {h.state} (due {_when(h.ack_due_at)})",
                highlight=False,
            )
        for c in deadlines.clocks(session, i, clocks_doc(settings.incident_clocks), now):
            out.print(f"clock {c.clock}: {c.state} (due {_when(c.due_at)})", highlight=False)
        for e in service.timeline(session, principal, i.id):
            out.print(f"  {_when(e.at)}  {e.kind:<12} {e.text}", highlight=False)


@incident_app.command("create")
def incident_create(
    title: Annotated[str, typer.Argument(help="Short title of the incident.")],
    classification: Annotated[
        str, typer.Option(help='RSIT tag, e.g. fraud:phishing or rsit:fraud="phishing".')
    ],
    severity: Annotated[str, typer.Option(help="On the node's scale (MINGA_INCIDENT_SEVERITIES).")],
    description: Annotated[str, typer.Option(help="What happened.")] = "",
    tlp: Annotated[str, typer.Option(help="clear, green, amber, amber+strict, red")] = "amber",
    pap: Annotated[str, typer.Option(help="clear, green, amber, red")] = "amber",
    affected: Annotated[
        list[str] | None, typer.Option("--affected", help="Affected organisation (repeat).")
    ] = None,
    playbook: Annotated[str | None, typer.Option(help="Apply this playbook.")] = None,
    lang: Annotated[str, typer.Option(help="Language of the playbook's tasks.")] = "en",
    user: UserOpt = None,
) -> None:
    """Open an incident held by the user's organisation."""
    settings = _settings()
    with _scope() as session:
        principal = _principal(session, user)
        data = service.IncidentIn(
            title=title,
            classification=classification,
            severity=severity,
            description=description,
            tlp=tlp,
            pap=pap,
            affected_org_ids=[_org(session, a) for a in affected or []],
        )
        incident = service.create_incident(
            session, principal, data, severity_scale=settings.incident_severities
        )
        made = []
        if playbook:
            made = playbooks.apply_playbook(
                session, principal, incident.id, playbook, lang, at=service.utcnow()
            )
        incident_id = incident.id
    extra = f" with {len(made)} tasks from playbook {playbook}" if playbook else ""
    out.print(f"Incident [bold]#{incident_id}[/] opened{extra}.", highlight=False)


@incident_app.command("escalate")
def incident_escalate(
    incident_id: Annotated[int, typer.Argument(help="Incident id.")],
    to: Annotated[
        str | None, typer.Option("--to", help="Organisation at the next level (id or name).")
    ] = None,
    peer: Annotated[
        str | None, typer.Option("--peer", help="Or a federation peer (its national CSIRT).")
    ] = None,
    tlp: Annotated[str, typer.Option(help="TLP of this hop.")] = "amber",
    pap: Annotated[str, typer.Option(help="PAP of this hop.")] = "amber",
    share: Annotated[
        list[str] | None, typer.Option("--share", help="STIX id of a record to pass on (repeat).")
    ] = None,
    redact: Annotated[
        list[str] | None, typer.Option("--redact", help=" | ".join(flows.REDACTABLE))
    ] = None,
    ack_hours: Annotated[
        float | None, typer.Option(help="Hours to acknowledge (MINGA_INCIDENT_ACK_HOURS).")
    ] = None,
    user: UserOpt = None,
) -> None:
    """Escalate to the next level: a linked incident held by that organisation."""
    settings = _settings()
    with _scope() as session:
        principal = _principal(session, user)
        if (to is None) == (peer is None):
            raise MingaError("name the next level: --to ORGANISATION or --peer NODE")
        org_id = _org(session, to) if to else peers.get_peer(session, peer or "").org_id
        hop = flows.escalate(
            session,
            principal,
            incident_id,
            to_org_id=org_id,
            tlp=tlp,
            pap=pap,
            share=share or [],
            redact=redact or [],
            ack_hours=ack_hours or settings.incident_ack_hours,
            severity_scale=settings.incident_severities,
            at=service.utcnow(),
        )
        session.flush()
        federated.deliver(session, hop, node_name=settings.node_name)
        made, due = hop.to_incident_id, hop.ack_due_at
    out.print(
        f"Escalated as incident [bold]#{made}[/]; acknowledgement due {_when(due)}.",
        highlight=False,
    )


@incident_app.command("acknowledge")
def incident_acknowledge(
    incident_id: Annotated[int, typer.Argument(help="The incident escalated to you.")],
    user: UserOpt = None,
) -> None:
    """Acknowledge an escalation received."""
    with _scope() as session:
        principal = _principal(session, user)
        hop = flows.acknowledge(session, principal, incident_id, at=service.utcnow())
        session.flush()
        federated.deliver(session, hop, node_name=_settings().node_name)
    out.print(f"Incident #{incident_id} acknowledged.", highlight=False)


@incident_app.command("status")
def incident_status(
    incident_id: Annotated[int, typer.Argument(help="Incident id.")],
    status: Annotated[str, typer.Argument(help=" | ".join(STATUSES))],
    user: UserOpt = None,
) -> None:
    """Move an incident along new → triage → in-progress → contained → resolved → closed."""
    with _scope() as session:
        principal = _principal(session, user)
        service.set_status(session, principal, incident_id, status, at=service.utcnow())
    out.print(f"Incident #{incident_id} is {status}.", highlight=False)


@incident_app.command("deadlines")
def incident_deadlines(user: UserOpt = None) -> None:
    """What the user's organisation must do and by when."""
    settings = _settings()
    with _scope() as session:
        principal = _principal(session, user)
        found = deadlines.my_deadlines(
            session, principal, clocks_doc(settings.incident_clocks), service.utcnow()
        )
        table = Table("due", "state", "kind", "incident", "what")
        for d in found:
            table.add_row(
                _when(d.due_at), d.state, d.kind, f"#{d.incident_id} {d.incident_title}", d.what
            )
    out.print(table)


@incident_app.command("import-thehive")
def incident_import_thehive(
    path: Annotated[Path, typer.Argument(help="A TheHive 5 case as JSON (GET /api/v1/case/{id}).")],
    classification: Annotated[
        str | None, typer.Option(help="RSIT tag, if the case carries no rsit: tag.")
    ] = None,
    user: UserOpt = None,
) -> None:
    """Import a TheHive 5 case (with its tasks and observables, when present) as an incident."""
    settings = _settings()
    try:
        case = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise MingaError(f"cannot read {path}: {exc}") from None
    with _scope() as session:
        principal = _principal(session, user)
        incident = interop.import_thehive(
            session, principal, case, classification=classification,
            severity_scale=settings.incident_severities, at=service.utcnow(),
        )  # fmt: skip
        made = incident.id
    out.print(f"Incident [bold]#{made}[/] imported.", highlight=False)


@incident_app.command("export")
def incident_export(
    incident_id: Annotated[int, typer.Argument(help="Incident id.")],
    format: Annotated[str, typer.Option("--format", help="stix or misp")] = "stix",
    user: UserOpt = None,
) -> None:
    """Print the incident as a STIX 2.1 bundle (incident-core extension) or a MISP event."""
    settings = _settings()
    if format not in ("stix", "misp"):
        raise MingaError("--format is stix or misp")
    with _scope() as session:
        principal = _principal(session, user)
        build = interop.misp_event if format == "misp" else interop.stix_bundle
        doc = build(session, principal, incident_id, severity_scale=settings.incident_severities)
    print(json.dumps(doc, indent=2, ensure_ascii=False))
