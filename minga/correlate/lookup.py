"""Correlation: for a value (or every value of an object), the other objects the caller may see
that share it or contain it, with how many organisations and countries reported them and when.

Relations, from the found object's side: `same` (equal value), `contains` (its network holds
the address, its domain is the host or a parent domain of the URL, mailbox or subdomain) and
`within` (its address is in the network looked up, its URL or subdomain under the domain).
Every count is over objects the caller may see (`minga.policy.visible_filter`), latest versions
only, revoked ones left out. A value found in more objects than the correlation limit is
`common`: counted, not expanded (MISP's `MISP.correlation_limit`, default 20). Excluded values
(`exclusions`) are not correlated at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy import (
    bindparam,
    distinct,
    func,
    literal,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from minga.accounts.models import Organisation
from minga.correlate import normalise as n
from minga.correlate.exclusions import excluded_values
from minga.correlate.models import observables
from minga.correlate.normalise import Value
from minga.correlate.relations import latest_row, shape_conditions, shape_of, worth_correlating
from minga.correlate.warninglists import flags
from minga.errors import InvalidInput
from minga.intel.models import object_groups, objects
from minga.policy import Principal, visible_filter

DEFAULT_LIMIT = 20  # MISP.correlation_limit's default (app/Model/OverCorrelatingValue.php)
MAX_VALUES = 10_000  # values of one look-up request


@dataclass(frozen=True, slots=True)
class Match:
    """One visible object that shares or contains the value."""

    stix_id: str
    type: str
    name: str
    relation: str  # same | contains | within
    kind: str
    value: str
    organisation: str
    country: str
    tlp: str
    created: str

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__slots__}


@dataclass(slots=True)
class Correlation:
    """What the node holds, visible to the caller, about one value."""

    query: str
    kind: str
    value: str
    objects: int = 0
    organisations: int = 0
    countries: int = 0
    first_reported: str | None = None
    last_reported: str | None = None
    common: bool = False
    excluded: bool = False
    warninglists: list[str] = field(default_factory=list)
    reported_by: list[str] = field(default_factory=list)  # organisation names
    matches: list[Match] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in self.__slots__ if k != "matches"}
        out["matches"] = [m.as_dict() for m in self.matches]
        return out


@lru_cache(maxsize=512)
def _statements(principal: Principal, shape: str) -> tuple[Any, Any]:
    """The per-organisation totals and the rows of the visible latest objects related to a
    value of `shape`, as `principal` may see them (built once: a look-up only binds values)."""
    parts = []
    for relation, cond in shape_conditions(shape):
        parts.append(
            select(
                literal(relation).label("relation"),
                observables.c.kind,
                observables.c.value,
                objects.c.pk,
                objects.c.stix_id,
                objects.c.type,
                objects.c.owner_org_id,
                objects.c.tlp,
                objects.c.created,
            )
            .select_from(observables.join(objects, objects.c.pk == observables.c.object_pk))
            .where(
                cond,
                latest_row(),
                objects.c.revoked == False,  # noqa: E712
                visible_filter(principal, objects, object_groups),
                objects.c.stix_id.not_in(bindparam("exclude", expanding=True)),
            )
        )
    related = union_all(*parts).subquery("related")
    # One pass: per reporting organisation, its objects and dates (a copy of an observable
    # that two organisations hold counts for each: each reported it).
    per_org = select(
        related.c.owner_org_id,
        func.count(distinct(related.c.stix_id)),
        func.min(related.c.created),
        func.max(related.c.created),
    ).group_by(related.c.owner_org_id)
    rows = (
        select(related, objects.c.raw)
        .select_from(related.join(objects, objects.c.pk == related.c.pk))
        .order_by(related.c.created.desc(), related.c.stix_id)
    )
    return per_org, rows


def correlate_value(
    session: Session,
    principal: Principal,
    v: Value,
    *,
    query: str | None = None,
    limit: int = DEFAULT_LIMIT,
    exclude_ids: Sequence[str] = (),
    excluded: bool = False,
    lists: Sequence[str] = (),
    members: dict[int, tuple[str, str]] | None = None,
) -> Correlation:
    out = Correlation(query if query is not None else v.value, v.kind, v.value)
    out.warninglists = list(lists)
    if excluded:
        out.excluded = True
        return out
    shape, params = shape_of(v)
    params["exclude"] = list(exclude_ids)
    per_org_stmt, rows_stmt = _statements(principal, shape)
    per_org = session.execute(per_org_stmt, params).all()
    if not per_org:
        return out
    orgs = members if members is not None else organisations(session)
    owners = [orgs[row[0]] for row in per_org]
    out.objects = sum(int(row[1]) for row in per_org)
    out.first_reported = min(row[2] for row in per_org)
    out.last_reported = max(row[3] for row in per_org)
    out.organisations = len(owners)
    out.countries = len({country for _, country in owners})
    out.reported_by = sorted(name for name, _ in owners)[:limit]
    if out.objects > limit:
        out.common = True
        return out
    rows = session.execute(rows_stmt, params).all()
    seen: set[tuple[str, int, str]] = set()
    for r in rows:
        key = (r.stix_id, r.owner_org_id, r.relation)
        if key in seen:
            continue
        seen.add(key)
        obj = orjson.loads(r.raw)
        out.matches.append(
            Match(
                stix_id=r.stix_id,
                type=r.type,
                name=str(obj.get("name") or obj.get("value") or r.value)[:200],
                relation=r.relation,
                kind=r.kind,
                value=r.value,
                organisation=orgs[r.owner_org_id][0],
                country=orgs[r.owner_org_id][1],
                tlp=r.tlp,
                created=r.created,
            )
        )
    return out


def organisations(session: Session) -> dict[int, tuple[str, str]]:
    """(name, country) of every organisation by id: a small table, read once per look-up."""
    orgs = Organisation.__table__
    rows = session.execute(select(orgs.c.id, orgs.c.name, orgs.c.country))
    return {oid: (name, country) for oid, name, country in rows}


def parse_values(texts: Iterable[str]) -> list[tuple[str, Value]]:
    """(as given, normalised) of each non-empty text; InvalidInput names what is not a value."""
    found: list[tuple[str, Value]] = []
    for text in texts:
        text = text.strip()
        if not text or text.startswith("#"):
            continue
        value = n.guess(text)
        if value is None:
            raise InvalidInput(f"{text[:100]!r} is not an address, domain, URL, e-mail or hash")
        found.append((text, value))
        if len(found) > MAX_VALUES:
            raise InvalidInput(f"at most {MAX_VALUES} values in one look-up")
    return found


def lookup(
    session: Session,
    principal: Principal,
    texts: Iterable[str],
    *,
    limit: int = DEFAULT_LIMIT,
) -> list[Correlation]:
    """Correlations of values typed or pasted by a person (`minga lookup`, REST)."""
    pairs = parse_values(texts)
    return correlate_many(session, principal, pairs, limit=limit)


def correlate_many(
    session: Session,
    principal: Principal,
    pairs: Sequence[tuple[str, Value]],
    *,
    limit: int = DEFAULT_LIMIT,
    exclude_ids: Sequence[str] = (),
) -> list[Correlation]:
    values = [v for _, v in pairs]
    excluded = excluded_values(session, values)
    listed = flags(session, values)
    members = organisations(session)
    # A report's values are mostly new: one pass over the index finds the few that may have
    # anything (ignoring visibility: a superset), and only those are correlated in full.
    possible = worth_correlating(session, values) if len(values) > 1 else [True] * len(values)
    return [
        correlate_value(
            session,
            principal,
            v,
            query=text,
            limit=limit,
            exclude_ids=exclude_ids,
            excluded=(v.kind, v.value) in excluded,
            lists=listed.get((v.kind, v.value), ()),
            members=members,
        )
        if maybe
        else _nothing(text, v, (v.kind, v.value) in excluded, listed.get((v.kind, v.value), ()))
        for (text, v), maybe in zip(pairs, possible, strict=True)
    ]


def _nothing(text: str, v: Value, excluded: bool, lists: Sequence[str]) -> Correlation:
    return Correlation(text, v.kind, v.value, excluded=excluded, warninglists=list(lists))


def stored_values(session: Session, pk: int) -> list[Value]:
    """The indexed values of one stored object version."""
    rows = session.execute(
        select(observables.c.kind, observables.c.value, observables.c.lo, observables.c.hi)
        .where(observables.c.object_pk == pk)
        .order_by(observables.c.kind, observables.c.value)
    )
    return [Value(k, v, lo, hi) for k, v, lo, hi in rows]


def correlate_object(
    session: Session, principal: Principal, pk: int, stix_id: str, *, limit: int = DEFAULT_LIMIT
) -> list[Correlation]:
    """Correlations of every value of one object (the object itself left out)."""
    values = stored_values(session, pk)
    return correlate_many(
        session, principal, [(v.value, v) for v in values], limit=limit, exclude_ids=[stix_id]
    )
