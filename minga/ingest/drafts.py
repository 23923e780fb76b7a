"""Report drafts: indicators found in a report, reviewed by an analyst before publishing.

A draft is not intelligence yet: it lives in its own table, only its organisation sees it, and
publishing turns the selected items into a STIX report with indicators, vulnerabilities and
attack patterns in one all-or-nothing write.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import PurePath
from typing import Any

import orjson
from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from minga import audit
from minga.errors import Conflict, Forbidden, InvalidInput, NotFound
from minga.extract import Ioc, IocType
from minga.ingest import build, files, report
from minga.ingest.models import drafts
from minga.intel.service import Provenance, WriteResult, create_objects
from minga.intel.stix import now_ts
from minga.knowledge.annotate import notes_for
from minga.policy import Action, Principal, Reach, Tlp, may

DRAFT, PUBLISHED = "draft", "published"
LINKED_TYPES = (IocType.CVE.value, IocType.ATTACK_TECHNIQUE.value)


@dataclass(frozen=True, slots=True)
class DraftItem:
    index: int
    type: str
    value: str
    raw: str
    sentence: str
    start: int
    end: int
    benign: bool
    selected: bool


@dataclass(frozen=True, slots=True)
class Draft:
    id: int
    name: str
    filename: str | None
    language: str
    status: str
    created: datetime
    items: list[DraftItem] = field(default_factory=list)
    excerpt: str = ""
    report_id: str | None = None
    limits: list[report.Limit] = field(default_factory=list)
    summary: str = ""
    tlp_hint: str | None = None
    has_file: bool = False

    @property
    def description(self) -> str:
        """The description the report gets if nobody changes it."""
        return report.description_of(self.summary, self.language, self.filename or self.name)


def _draft(row: Any, has_file: bool = False) -> Draft:
    items = [DraftItem(**i) for i in orjson.loads(row.items)]
    limits = [report.Limit(**lim) for lim in orjson.loads(row.limits)]
    created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
    return Draft(
        row.id, row.name, row.filename, row.language, row.status, created, items, row.excerpt,
        row.report_id, limits, row.summary or "", row.tlp_hint, has_file,
    )  # fmt: skip


def _require_publish(principal: Principal) -> None:
    if not may(principal, Action.PUBLISH):
        raise Forbidden(f"the role {principal.role.value!r} may not import or publish reports")


def create_report_draft(
    session: Session,
    principal: Principal,
    data: bytes,
    filename: str | None,
    content_type: str | None,
) -> Draft:
    """Read a report (PDF, HTML, Markdown, text) and keep its candidate indicators as a draft."""
    _require_publish(principal)
    read = report.read_text(data, filename, content_type)
    text = read.text
    found, limits = report.candidates(read)
    items = [
        DraftItem(n, c.type, c.value, c.raw, c.sentence, c.start, c.end, c.benign, not c.benign)
        for n, c in enumerate(found)
    ]
    now = datetime.now(UTC)
    name = report.title_of(text, filename)
    clean_name = PurePath(filename).name[:300] if filename else None
    hint = report.tlp_hint(text)
    draft_id = session.execute(
        insert(drafts)
        .values(
            org_id=principal.org_id,
            user_id=principal.user_id,
            name=name,
            filename=clean_name,
            language=report.guess_language(text),
            status=DRAFT,
            excerpt=text[: report.EXCERPT_CHARS],
            items=orjson.dumps([asdict(i) for i in items]).decode(),
            limits=orjson.dumps([asdict(lim) for lim in limits]).decode(),
            created_at=now,
            updated_at=now,
            summary=report.summary_of(text, name),
            tlp_hint=hint,
        )
        .returning(drafts.c.id)
    ).scalar_one()
    files.keep(session, draft_id, data, clean_name or name, content_type)
    audit.record(session, principal, "ingest.draft", "draft", draft_id, items=len(items))
    return get_draft(session, principal, draft_id)


def get_draft(session: Session, principal: Principal, draft_id: int) -> Draft:
    row = session.execute(
        select(drafts).where(drafts.c.id == draft_id, drafts.c.org_id == principal.org_id)
    ).first()
    if row is None:
        raise NotFound(f"no draft {draft_id} of your organisation")
    return _draft(row, files.held(session, [draft_id]) == {draft_id})


def list_drafts(session: Session, principal: Principal) -> list[Draft]:
    """Your organisation's drafts, newest first (published ones included, with their report)."""
    rows = session.execute(
        select(drafts).where(drafts.c.org_id == principal.org_id).order_by(drafts.c.id.desc())
    ).all()
    kept = files.held(session, [r.id for r in rows])
    return [_draft(r, r.id in kept) for r in rows]


def node_drafts(session: Session) -> list[tuple[Draft, int]]:
    """Every draft on the node with its author's user id, newest first: for the node's own
    command line, which acts as the operator (no account)."""
    rows = session.execute(select(drafts).order_by(drafts.c.id.desc()))
    return [(_draft(r), r.user_id) for r in rows]


def draft_author(session: Session, draft_id: int) -> int:
    """The user who made a draft (the command line acts as them when no --user is given)."""
    found = session.scalar(select(drafts.c.user_id).where(drafts.c.id == draft_id))
    if found is None:
        raise NotFound(f"no draft {draft_id}")
    return int(found)


def discard_draft(session: Session, principal: Principal, draft_id: int) -> None:
    _require_publish(principal)
    draft = get_draft(session, principal, draft_id)
    if draft.status != DRAFT:
        raise Conflict(f"draft {draft_id} was already published as {draft.report_id}")
    files.drop(session, draft_id)
    session.execute(delete(drafts).where(drafts.c.id == draft_id))
    audit.record(session, principal, "ingest.discard", "draft", draft_id)


def publish_draft(
    session: Session,
    principal: Principal,
    draft_id: int,
    *,
    selected: list[int] | None,
    tlp: Tlp = Tlp.AMBER,
    reach: Reach = Reach.COMMUNITY,
    group_ids: list[int] | None = None,
    name: str | None = None,
    description: str | None = None,
) -> WriteResult:
    """Store the chosen items (default: those selected in the draft) under one STIX report,
    named and described as the analyst wrote (default: the report's title, its own summary
    and where the indicators came from, in its language)."""
    _require_publish(principal)
    draft = get_draft(session, principal, draft_id)
    if draft.status != DRAFT:
        raise Conflict(f"draft {draft_id} was already published as {draft.report_id}")
    chosen = _chosen(draft, selected)
    ts = now_ts()
    parts: list[dict[str, Any]] = []
    # Technique ids and CVEs the node's reference knowledge holds link to its objects
    # (ATT&CK attack patterns, KEV vulnerabilities) instead of becoming bare copies.
    reference = notes_for(session, [i.value for i in chosen if i.type in LINKED_TYPES])
    linked: list[str] = []
    for item in chosen:
        known = reference.get(item.value) if item.type in LINKED_TYPES else None
        if known is not None and known.stix_id:
            linked.append(known.stix_id)
            continue
        ioc = Ioc(IocType(item.type), item.value, item.raw, item.start, item.end, item.sentence)
        obj = build.objects_for(ioc, ts=ts, description=item.sentence or None)
        if obj is not None:
            parts.append(obj)
    source = draft.filename or draft.name
    summary = {
        "type": "report",
        "spec_version": "2.1",
        "id": build.new_id("report"),
        "created": ts,
        "modified": ts,
        "name": (name or "").strip()[:300] or draft.name,
        "published": ts,
        "report_types": ["threat-report"],
        "description": draft.description if description is None else description.strip(),
        "object_refs": [o["id"] for o in parts] + list(dict.fromkeys(linked)),
    }
    if not summary["description"]:
        del summary["description"]
    if draft.language:
        summary["lang"] = draft.language
    result = create_objects(
        session,
        principal,
        [summary, *parts],
        tlp=tlp,
        reach=reach,
        group_ids=group_ids or [],
        provenance=Provenance(source=source[:200]),
        link_known=True,  # an indicator published before becomes a version of it
    )
    session.execute(
        update(drafts)
        .where(drafts.c.id == draft_id)
        .values(status=PUBLISHED, report_id=summary["id"], updated_at=datetime.now(UTC))
    )
    files.published(session, draft_id, str(summary["id"]))
    audit.record(
        session, principal, "ingest.publish", "draft", draft_id, report=summary["id"],
        objects=len(parts),
    )  # fmt: skip
    return result


def _chosen(draft: Draft, selected: list[int] | None) -> list[DraftItem]:
    if selected is None:
        chosen = [i for i in draft.items if i.selected]
    else:
        unknown = sorted(set(selected) - {i.index for i in draft.items})
        if unknown:
            raise InvalidInput(f"draft {draft.id} has no items {unknown}")
        wanted = set(selected)
        chosen = [i for i in draft.items if i.index in wanted]
    if not chosen:
        raise InvalidInput("select at least one item to publish")
    return chosen
