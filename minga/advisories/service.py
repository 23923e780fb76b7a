"""The advisory life cycle: an analyst drafts, a coordinator publishes (only TLP:CLEAR links, as
`minga.policy.public_refusals` decides), updates it (a new immutable revision each time) or
withdraws it with a reason (it stays public, marked withdrawn). Services never commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from minga import audit
from minga.accounts.checks import require
from minga.advisories import content as contents
from minga.advisories.models import Advisory, AdvisoryRevision
from minga.errors import Conflict, Forbidden, InvalidInput, NotFound
from minga.intel.queries import get_object
from minga.policy import Action, Principal, Target, Tlp, public_refusals

DRAFT, PUBLISHED, WITHDRAWN = "draft", "published", "withdrawn"
PUBLIC = (PUBLISHED, WITHDRAWN)


@dataclass(frozen=True, slots=True)
class Linked:
    """The public facts of a linked object, copied when the advisory is published."""

    id: str
    type: str
    tlp: str
    name: str
    detail: str  # an indicator's pattern, a vulnerability's CVE id

    def as_dict(self) -> dict[str, str]:
        return {"id": self.id, "type": self.type, "name": self.name, "detail": self.detail}


def loads(advisory: Advisory | AdvisoryRevision) -> dict[str, Any]:
    data: dict[str, Any] = orjson.loads(advisory.content)
    return data


def _now() -> datetime:
    return datetime.now(UTC)


def _cve_of(obj: dict[str, Any]) -> str:
    for ref in obj.get("external_references", []):
        if ref.get("source_name") == "cve" and ref.get("external_id"):
            return str(ref["external_id"])
    name = str(obj.get("name", ""))
    return name if contents.CVE_RE.match(name) else ""


def resolve_links(session: Session, principal: Principal, ids: list[str]) -> list[Linked]:
    """The newest versions of the linked objects, as the principal may see them (an object it
    may not see is reported as unknown, the same answer as one that does not exist)."""
    found: list[Linked] = []
    for stix_id in ids:
        try:
            stored = get_object(session, principal, stix_id)
        except NotFound:
            raise InvalidInput(f"links: no object {stix_id} that you may see") from None
        obj = stored.object()
        detail = obj.get("pattern", "") if stored.type == "indicator" else _cve_of(obj)
        found.append(
            Linked(stix_id, stored.type, stored.tlp.value, str(obj.get("name", "")), detail)
        )
    return found


def _next_tracking_id(session: Session, prefix: str, year: int) -> str:
    stem = f"{prefix}-{year}-"
    taken = session.scalars(
        select(Advisory.tracking_id).where(Advisory.tracking_id.startswith(stem))
    ).all()
    numbers = [int(t[len(stem) :]) for t in taken if t[len(stem) :].isdigit()]
    return f"{stem}{max(numbers, default=0) + 1:04d}"


def get(session: Session, principal: Principal, tracking_id: str) -> Advisory:
    """An advisory the principal may read: any public one, and its own organisation's drafts."""
    advisory = session.scalar(select(Advisory).where(Advisory.tracking_id == tracking_id))
    if advisory is None or (advisory.status == DRAFT and advisory.owner_org_id != principal.org_id):
        raise NotFound(f"no advisory {tracking_id}")
    return advisory


def list_for(
    session: Session, principal: Principal, *, status: str | None = None, limit: int = 200
) -> list[Advisory]:
    """Its own organisation's advisories (drafts too) and every public one, newest first."""
    stmt = select(Advisory).where(
        or_(Advisory.owner_org_id == principal.org_id, Advisory.status.in_(PUBLIC))
    )
    if status is not None:
        if status not in (DRAFT, *PUBLIC):
            raise InvalidInput("status must be draft, published or withdrawn")
        stmt = stmt.where(Advisory.status == status)
    order = func.coalesce(Advisory.published_at, Advisory.created_at)
    return list(session.scalars(stmt.order_by(order.desc(), Advisory.id.desc()).limit(limit)))


def draft(
    session: Session, principal: Principal, fields: dict[str, Any], *, prefix: str
) -> Advisory:
    require(principal, Action.DRAFT_ADVISORY, Target(org_id=principal.org_id))
    body = contents.checked(fields)
    resolve_links(session, principal, body["links"])  # unknown ids are refused at once
    now = _now()
    tracking_id = _next_tracking_id(session, prefix, now.year)
    advisory = Advisory(
        tracking_id=tracking_id,
        owner_org_id=principal.org_id,
        status=DRAFT,
        category=body["category"],
        severity=body["severity"],
        content=orjson.dumps(body).decode(),
        search_text=contents.search_text(tracking_id, body),
        sectors=contents.tags(body["sectors"]),
        langs=contents.tags(list(body["texts"])),
        csaf=contents.csaf_ready(body),
        revision=0,
        created_by=principal.user_id,
        created_at=now,
        updated_at=now,
    )
    session.add(advisory)
    session.flush()
    audit.record(session, principal, "advisory.draft", "advisory", tracking_id)
    return advisory


def _target(advisory: Advisory) -> Target:
    return Target(org_id=advisory.owner_org_id)


def _set_content(advisory: Advisory, body: dict[str, Any]) -> None:
    advisory.category, advisory.severity = body["category"], body["severity"]
    advisory.content = orjson.dumps(body).decode()
    advisory.search_text = contents.search_text(advisory.tracking_id, body)
    advisory.sectors = contents.tags(body["sectors"])
    advisory.langs = contents.tags(list(body["texts"]))
    advisory.csaf = contents.csaf_ready(body)
    advisory.updated_at = _now()


def edit_draft(
    session: Session, principal: Principal, tracking_id: str, fields: dict[str, Any]
) -> Advisory:
    advisory = get(session, principal, tracking_id)
    require(principal, Action.DRAFT_ADVISORY, _target(advisory))
    if advisory.status != DRAFT:
        raise Conflict(f"{tracking_id} is {advisory.status}: publish an update instead")
    body = contents.checked(fields)
    resolve_links(session, principal, body["links"])
    _set_content(advisory, body)
    audit.record(session, principal, "advisory.edit", "advisory", tracking_id)
    return advisory


def _publishable(session: Session, principal: Principal, body: dict[str, Any]) -> dict[str, Any]:
    """The content with its linked objects' public facts, or Forbidden naming each object
    that is not TLP:CLEAR."""
    linked = resolve_links(session, principal, body["links"])
    refusals = public_refusals([(each.id, Tlp(each.tlp)) for each in linked])
    if refusals:
        raise Forbidden("the advisory may not be published: " + "; ".join(refusals))
    return {**body, "linked": [each.as_dict() for each in linked]}


def _revise(
    session: Session, principal: Principal, advisory: Advisory, status: str, summary: str
) -> AdvisoryRevision:
    advisory.revision += 1
    revision = AdvisoryRevision(
        advisory_id=advisory.id,
        number=advisory.revision,
        at=advisory.updated_at,
        by_user_id=principal.user_id,
        status=status,
        summary=summary,
        content=advisory.content,
    )
    session.add(revision)
    session.flush()
    return revision


def publish(
    session: Session, principal: Principal, tracking_id: str, *, summary: str = ""
) -> Advisory:
    advisory = get(session, principal, tracking_id)
    require(principal, Action.PUBLISH_ADVISORY, _target(advisory))
    if advisory.status != DRAFT:
        raise Conflict(f"{tracking_id} is already {advisory.status}")
    _set_content(advisory, _publishable(session, principal, loads(advisory)))
    advisory.status = PUBLISHED
    advisory.published_at = advisory.updated_at
    _revise(session, principal, advisory, PUBLISHED, summary.strip()[:500] or "Initial release")
    audit.record(session, principal, "advisory.publish", "advisory", tracking_id)
    return advisory


def update(
    session: Session,
    principal: Principal,
    tracking_id: str,
    fields: dict[str, Any],
    *,
    summary: str,
) -> Advisory:
    """A new revision of a published advisory (a draft is edited with `edit_draft`)."""
    advisory = get(session, principal, tracking_id)
    require(principal, Action.PUBLISH_ADVISORY, _target(advisory))
    if advisory.status != PUBLISHED:
        raise Conflict(f"{tracking_id} is {advisory.status}: only a published advisory is updated")
    if not summary.strip():
        raise InvalidInput("summary must say what changed (it goes into the revision history)")
    body = _publishable(session, principal, contents.checked(fields))
    _set_content(advisory, body)
    _revise(session, principal, advisory, PUBLISHED, summary.strip()[:500])
    audit.record(session, principal, "advisory.update", "advisory", tracking_id)
    return advisory


def withdraw(session: Session, principal: Principal, tracking_id: str, *, reason: str) -> Advisory:
    advisory = get(session, principal, tracking_id)
    require(principal, Action.PUBLISH_ADVISORY, _target(advisory))
    if advisory.status != PUBLISHED:
        raise Conflict(f"{tracking_id} is {advisory.status}: only a published one is withdrawn")
    reason = reason.strip()
    if not reason:
        raise InvalidInput("reason must say why the advisory is withdrawn")
    if len(reason) > 2000:
        raise InvalidInput("reason is longer than 2000 characters")
    advisory.status = WITHDRAWN
    advisory.updated_at = advisory.withdrawn_at = _now()
    advisory.withdrawn_reason = reason
    _revise(session, principal, advisory, WITHDRAWN, f"Withdrawn: {reason}"[:500])
    audit.record(session, principal, "advisory.withdraw", "advisory", tracking_id, reason=reason)
    return advisory


def revisions(session: Session, advisory: Advisory) -> list[AdvisoryRevision]:
    return list(
        session.scalars(
            select(AdvisoryRevision)
            .where(AdvisoryRevision.advisory_id == advisory.id)
            .order_by(AdvisoryRevision.number)
        )
    )
