"""Values never correlated (a sinkhole, a shared hosting address, a public resolver): node-wide,
kept by the node operator. An excluded value is still indexed and found by search; look-ups say
it is excluded instead of listing what shares it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, insert, select, tuple_
from sqlalchemy.orm import Session

from minga import audit
from minga.correlate import normalise as n
from minga.correlate.models import correlation_exclusions
from minga.correlate.normalise import Value
from minga.errors import Conflict, Forbidden, InvalidInput, NotFound
from minga.policy import Action, Principal, may

CHUNK = 500


@dataclass(frozen=True, slots=True)
class Exclusion:
    id: int
    kind: str
    value: str
    reason: str
    created_by: str
    created_at: datetime


def _allowed(principal: Principal | None) -> None:
    """None: the node's own command line (its operator)."""
    if principal is not None and not may(principal, Action.MANAGE_CORRELATION):
        raise Forbidden("only the node operator manages correlation exclusions")


def _value(text: str) -> Value:
    value = n.guess(text)
    if value is None or value.kind == "text":
        raise InvalidInput(
            f"{text[:100]!r} is not an address, network, domain, URL, e-mail or hash"
        )
    return value


def list_exclusions(session: Session) -> list[Exclusion]:
    rows = session.execute(
        select(correlation_exclusions).order_by(
            correlation_exclusions.c.kind, correlation_exclusions.c.value
        )
    )
    return [Exclusion(r.id, r.kind, r.value, r.reason, r.created_by, r.created_at) for r in rows]


def add_exclusion(
    session: Session, principal: Principal | None, text: str, reason: str = ""
) -> Exclusion:
    _allowed(principal)
    value = _value(text)
    table = correlation_exclusions
    if session.scalar(
        select(table.c.id).where(table.c.kind == value.kind, table.c.value == value.value)
    ):
        raise Conflict(f"{value.value} is already excluded from correlation")
    by = principal.user_name if principal is not None else "command line"
    now = datetime.now(UTC)
    new_id = session.execute(
        insert(table)
        .values(kind=value.kind, value=value.value, reason=reason[:500], created_by=by,
                created_at=now)
        .returning(table.c.id)
    ).scalar_one()  # fmt: skip
    audit.record(session, principal, "correlation.exclude", "value", value.value, reason=reason)
    return Exclusion(new_id, value.kind, value.value, reason[:500], by, now)


def remove_exclusion(session: Session, principal: Principal | None, text: str) -> Exclusion:
    _allowed(principal)
    table = correlation_exclusions
    if text.isdigit():
        where = table.c.id == int(text)
    else:
        value = _value(text)
        where = (table.c.kind == value.kind) & (table.c.value == value.value)
    row = session.execute(select(table).where(where)).first()
    if row is None:
        raise NotFound(f"{text[:100]!r} is not excluded from correlation")
    session.execute(delete(table).where(table.c.id == row.id))
    audit.record(session, principal, "correlation.include", "value", row.value)
    return Exclusion(row.id, row.kind, row.value, row.reason, row.created_by, row.created_at)


def excluded_values(session: Session, values: Sequence[Value]) -> set[tuple[str, str]]:
    """The (kind, value) pairs of `values` that are excluded."""
    wanted = sorted({(v.kind, v.value) for v in values})
    found: set[tuple[str, str]] = set()
    table = correlation_exclusions
    for i in range(0, len(wanted), CHUNK):
        rows = session.execute(
            select(table.c.kind, table.c.value).where(
                tuple_(table.c.kind, table.c.value).in_(wanted[i : i + CHUNK])
            )
        )
        found.update((k, v) for k, v in rows)
    return found
