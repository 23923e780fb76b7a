"""Work on an incident: tasks, comments, attachments and linked records of the intel store."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from minga import audit
from minga.accounts.models import User
from minga.errors import InvalidInput, NotFound
from minga.incidents.models import Attachment, Comment, Incident, IncidentOrg, Record, Task
from minga.incidents.service import (
    get_incident,
    marking_of,
    note,
    parse_pap,
    parse_tlp,
    workable,
)
from minga.intel.queries import get_object
from minga.policy import Principal, Tlp, incident_filter, may_see_incident_record

# -- tasks ---------------------------------------------------------------------------------


def add_task(
    session: Session,
    principal: Principal,
    incident_id: int,
    *,
    title: str,
    phase: str = "",
    assignee_id: int | None = None,
    org_id: int | None = None,
    due_at: datetime | None = None,
    at: datetime,
) -> Task:
    incident = workable(session, principal, incident_id)
    if not 0 < len(title.strip()) <= 300:
        raise InvalidInput("a task needs a title of 1 to 300 characters")
    named = marking_of(session, incident)
    allowed_orgs = named.named_org_ids | {incident.org_id}
    if assignee_id is not None:
        user = session.get(User, assignee_id)
        if user is None or user.org_id not in allowed_orgs:
            raise InvalidInput(f"no user {assignee_id} in an organisation this incident names")
        org_id = org_id or user.org_id
    org_id = org_id or principal.org_id
    if org_id not in allowed_orgs:
        raise InvalidInput(f"organisation {org_id} is not named in this incident")
    task = Task(
        incident_id=incident.id,
        title=title.strip(),
        phase=phase[:40],
        status="open",
        assignee_id=assignee_id,
        org_id=org_id,
        due_at=due_at,
        created_at=at,
    )
    session.add(task)
    session.flush()
    note(session, principal, incident, "task", f"task #{task.id} added: {task.title}", at)
    return task


def tasks_of(session: Session, principal: Principal, incident_id: int) -> list[Task]:
    incident = get_incident(session, principal, incident_id)
    stmt = select(Task).where(Task.incident_id == incident.id)
    return list(session.scalars(stmt.order_by(Task.id)))


def set_task_done(
    session: Session, principal: Principal, task_id: int, done: bool, *, at: datetime
) -> Task:
    task = session.get(Task, task_id)
    if task is None:
        raise NotFound(f"no task {task_id} that you may see")
    incident = workable(session, principal, task.incident_id)
    task.status, task.done_at = ("done", at) if done else ("open", None)
    word = "done" if done else "reopened"
    note(session, principal, incident, "task", f"task #{task.id} {word}: {task.title}", at)
    return task


def my_tasks(session: Session, principal: Principal) -> list[tuple[Task, Incident]]:
    """Open tasks assigned to the caller, or to its organisation with nobody named."""
    named = IncidentOrg.__table__
    stmt = (
        select(Task, Incident)
        .join(Incident, Incident.id == Task.incident_id)
        .where(
            Task.status == "open",
            incident_filter(principal, Incident.__table__, named),
            (Task.assignee_id == principal.user_id)
            | ((Task.assignee_id.is_(None)) & (Task.org_id == principal.org_id)),
        )
        .order_by(Task.due_at.is_(None), Task.due_at, Task.id)
    )
    return [(t, i) for t, i in session.execute(stmt).all()]


# -- comments ------------------------------------------------------------------------------


def add_comment(
    session: Session, principal: Principal, incident_id: int, body: str, *, at: datetime
) -> Comment:
    incident = workable(session, principal, incident_id)
    if not body.strip():
        raise InvalidInput("a comment needs text")
    comment = Comment(
        incident_id=incident.id,
        user_id=principal.user_id,
        org_id=principal.org_id,
        at=at,
        body=body.strip()[:20000],
    )
    session.add(comment)
    incident.updated_at = at
    session.flush()
    return comment


def comments_of(session: Session, principal: Principal, incident_id: int) -> list[Comment]:
    incident = get_incident(session, principal, incident_id)
    stmt = select(Comment).where(Comment.incident_id == incident.id)
    return list(session.scalars(stmt.order_by(Comment.at, Comment.id)))


# -- attachments ---------------------------------------------------------------------------

SAFE_NAME = re.compile(r"[^A-Za-z0-9._ -]+")


def safe_filename(name: str) -> str:
    """A file name without paths or characters that could break a header."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    return SAFE_NAME.sub("_", base).strip(" .")[:200] or "attachment"


def add_attachment(
    session: Session,
    principal: Principal,
    incident_id: int,
    *,
    name: str,
    content: bytes,
    tlp: str,
    max_bytes: int,
    at: datetime,
) -> Attachment:
    incident = workable(session, principal, incident_id)
    if len(content) > max_bytes:
        raise InvalidInput(f"the file is larger than {max_bytes} bytes (this node's limit)")
    if not content:
        raise InvalidInput("the file is empty")
    attachment = Attachment(
        incident_id=incident.id,
        name=safe_filename(name),
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        tlp=parse_tlp(tlp).value,
        content=content,
        user_id=principal.user_id,
        org_id=principal.org_id,
        at=at,
    )
    session.add(attachment)
    session.flush()
    text = f"attachment {attachment.name} ({attachment.size} bytes, sha256 {attachment.sha256})"
    note(session, principal, incident, "attachment", text, at)
    audit.record(
        session, principal, "incident.attach", "incident", incident.id, sha256=attachment.sha256
    )
    return attachment


def attachments_of(session: Session, principal: Principal, incident_id: int) -> list[Attachment]:
    incident = get_incident(session, principal, incident_id)
    marking = marking_of(session, incident)
    stmt = select(Attachment).where(Attachment.incident_id == incident.id).order_by(Attachment.id)
    return [
        a for a in session.scalars(stmt) if may_see_incident_record(principal, marking, Tlp(a.tlp))
    ]


def get_attachment(session: Session, principal: Principal, attachment_id: int) -> Attachment:
    attachment = session.get(Attachment, attachment_id)
    if attachment is not None:
        incident = get_incident(session, principal, attachment.incident_id)
        if may_see_incident_record(principal, marking_of(session, incident), Tlp(attachment.tlp)):
            return attachment
    raise NotFound(f"no attachment {attachment_id} that you may see")


# -- linked records (STIX objects of the intel store) --------------------------------------


def link_record(
    session: Session,
    principal: Principal,
    incident_id: int,
    stix_id: str,
    *,
    tlp: str,
    pap: str,
    at: datetime,
) -> Record:
    incident = workable(session, principal, incident_id)
    get_object(session, principal, stix_id)  # one the caller may see (else NotFound)
    row = session.get(Record, (incident.id, stix_id))
    if row is None:
        row = Record(incident_id=incident.id, stix_id=stix_id, org_id=principal.org_id, at=at)
        session.add(row)
    row.tlp, row.pap = parse_tlp(tlp).value, parse_pap(pap).value
    note(session, principal, incident, "record", f"linked {stix_id} (TLP:{row.tlp.upper()})", at)
    session.flush()
    return row


def unlink_record(
    session: Session, principal: Principal, incident_id: int, stix_id: str, *, at: datetime
) -> None:
    incident = workable(session, principal, incident_id)
    gone = session.execute(
        delete(Record).where(Record.incident_id == incident.id, Record.stix_id == stix_id)
    )
    if not getattr(gone, "rowcount", 0):
        raise NotFound(f"{stix_id} is not linked to incident {incident.id}")
    note(session, principal, incident, "record", f"unlinked {stix_id}", at)


def records_of(session: Session, principal: Principal, incident_id: int) -> list[Record]:
    """The linked records the caller may see: in the incident (its TLP there) and in the store."""
    incident = get_incident(session, principal, incident_id)
    marking = marking_of(session, incident)
    stmt = select(Record).where(Record.incident_id == incident.id).order_by(Record.at)
    shown = []
    for rec in session.scalars(stmt):
        if not may_see_incident_record(principal, marking, Tlp(rec.tlp)):
            continue
        try:
            get_object(session, principal, rec.stix_id)
        except NotFound:
            continue
        shown.append(rec)
    return shown


def incidents_holding(session: Session, principal: Principal, stix_id: str) -> list[Incident]:
    """The incidents the caller may see that hold `stix_id` as a record it may see there."""
    named = IncidentOrg.__table__
    stmt = (
        select(Incident, Record.tlp)
        .join(Record, Record.incident_id == Incident.id)
        .where(Record.stix_id == stix_id, incident_filter(principal, Incident.__table__, named))
        .order_by(Incident.updated_at.desc())
    )
    return [
        inc
        for inc, tlp in session.execute(stmt).all()
        if may_see_incident_record(principal, marking_of(session, inc), Tlp(tlp))
    ]
