"""Feeds for defence tools: the indicators a principal may see, as export rows, streamed.

The rows come from one read transaction, page by page in (date added, pk) order, so an export
of a million indicators holds one page in memory. Visibility is `minga.policy`'s SQL filter
(through `minga.intel.queries.query_statement`: latest versions, one copy, not revoked); the
values are the observable index's (`minga.correlate.models.observables`), already normalised.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import Session

from minga.accounts.models import Organisation
from minga.correlate import warninglists
from minga.correlate.export.rows import ExportMeta, ExportRow, Kind
from minga.correlate.models import observables
from minga.correlate.normalise import Value
from minga.correlate.scores import score_of
from minga.errors import InvalidInput
from minga.intel.models import objects
from minga.intel.queries import ObjectQuery, query_statement
from minga.intel.stix import ts_to_us, us_to_ts
from minga.policy import TLP_RANK, Principal, Tlp

PAGE = 2000
ORGS = Organisation.__table__
# The observable index's kinds that a feed carries, as feed kinds.
INDEX_KINDS: dict[str, Kind] = {
    "ipv4": Kind.IPV4,
    "ipv6": Kind.IPV6,
    "ipv4-net": Kind.CIDR,
    "ipv6-net": Kind.CIDR,
    "domain": Kind.DOMAIN,
    "url": Kind.URL,
    "email": Kind.EMAIL,
    "md5": Kind.MD5,
    "sha1": Kind.SHA1,
    "sha256": Kind.SHA256,
    "sha512": Kind.SHA512,
}


@dataclass(frozen=True, slots=True)
class FeedFilter:
    """What a feed carries. Empty tuples mean "any"."""

    kinds: tuple[Kind, ...] = ()
    max_tlp: Tlp | None = None  # the highest TLP exported
    min_score: int | None = None
    since_us: int | None = None  # added to this node at or after
    sectors: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    include_expired: bool = False
    include_warninglisted: bool = False

    def describe(self) -> str:
        """The filter in words, for a feed's header and its ids."""
        parts = [f"type={','.join(k.value for k in self.kinds)}" if self.kinds else ""]
        parts.append(f"tlp<={self.max_tlp.value}" if self.max_tlp else "")
        parts.append(f"score>={self.min_score}" if self.min_score is not None else "")
        parts.append(f"since={us_to_ts(self.since_us)}" if self.since_us is not None else "")
        parts.append(f"sector={','.join(self.sectors)}" if self.sectors else "")
        parts.append(f"country={','.join(self.countries)}" if self.countries else "")
        parts.append("expired" if self.include_expired else "")
        parts.append("warninglisted" if self.include_warninglisted else "")
        return " ".join(p for p in parts if p)


def parse_filter(
    *,
    types: Sequence[str] = (),
    tlp: str | None = None,
    min_score: int | None = None,
    since: str | None = None,
    sectors: Sequence[str] = (),
    countries: Sequence[str] = (),
    include_expired: bool = False,
    include_warninglisted: bool = False,
) -> FeedFilter:
    """A filter from the words of a query string or command line; bad words are `InvalidInput`."""
    kinds: list[Kind] = []
    for word in (w.strip().lower() for t in types for w in t.split(",") if w.strip()):
        try:
            kinds.append(Kind(word))
        except ValueError:
            known = ", ".join(k.value for k in Kind)
            raise InvalidInput(f"unknown type {word!r}: use {known}") from None
    max_tlp = None
    if tlp:
        try:
            max_tlp = Tlp(tlp.strip().lower().removeprefix("tlp:"))
        except ValueError:
            known = ", ".join(t.value for t in Tlp)
            raise InvalidInput(f"unknown TLP {tlp!r}: use {known}") from None
    if min_score is not None and not 0 <= min_score <= 100:
        raise InvalidInput("the lowest score must be from 0 to 100")
    since_us = None
    if since:
        text = since.strip()
        try:
            since_us = ts_to_us(text if "T" in text else f"{text}T00:00:00Z")
        except (ValueError, InvalidInput):
            raise InvalidInput(f"since {since!r} is not a date or RFC 3339 time") from None

    def words(values: Sequence[str], upper: bool = False) -> tuple[str, ...]:
        found = {w.strip() for v in values for w in v.split(",") if w.strip()}
        return tuple(sorted(w.upper() if upper else w.lower() for w in found))

    return FeedFilter(
        kinds=tuple(sorted(set(kinds))),
        max_tlp=max_tlp,
        min_score=min_score,
        since_us=since_us,
        sectors=words(sectors),
        countries=words(countries, upper=True),
        include_expired=include_expired,
        include_warninglisted=include_warninglisted,
    )


def feed_statement(principal: Principal, f: FeedFilter, *, include_revoked: bool = False) -> Any:
    tlps: list[Tlp] = []
    if f.max_tlp is not None:
        tlps = [t for t in Tlp if TLP_RANK[t] <= TLP_RANK[f.max_tlp]]
    q = ObjectQuery(
        types=["indicator"],
        tlps=tlps,
        added_after_us=None if f.since_us is None else f.since_us - 1,
        include_revoked=include_revoked,
    )
    stmt = query_statement(principal, q).join(ORGS, ORGS.c.id == objects.c.owner_org_id)
    if f.sectors:
        stmt = stmt.where(func.lower(ORGS.c.sector).in_(f.sectors))
    if f.countries:
        stmt = stmt.where(func.upper(ORGS.c.country).in_(f.countries))
    return stmt


def export_meta(
    session: Session, principal: Principal, f: FeedFilter, node: str, description: str = ""
) -> ExportMeta:
    """The moment of the newest change the export reflects (a revocation counts)."""
    sub = feed_statement(principal, f, include_revoked=True).subquery()
    newest = session.scalar(select(func.max(sub.c.added_us))) or 0
    return ExportMeta(
        node=node, as_of=us_to_ts(newest), serial=newest // 1_000_000, description=description
    )


@dataclass
class FeedStats:
    """What a streamed export met on its way: the newest expiry that left a value out (a feed
    changes when an indicator expires, with no write to tell)."""

    expired_us: int = 0
    # The earliest end of validity still ahead among the exported indicators: the feed
    # changes then, though nothing is written (0: none ends).
    next_expiry_us: int = 0


# An indicator's score and the moment its decay ends its validity (µs), by STIX id.
Scored = tuple[int, int | None]


def scores_of(session: Session, ids: Sequence[str]) -> dict[str, Scored]:
    """Each indicator's score and the moment its decay ends its validity (the score table)."""
    found = score_of(session, ids)
    return {k: (int(v.score), v.valid_until_us) for k, v in found.items()}


def _index_kinds(f: FeedFilter) -> list[str]:
    return sorted(k for k, kind in INDEX_KINDS.items() if not f.kinds or kind in f.kinds)


def _values(session: Session, pks: list[int], kinds: list[str]) -> dict[int, list[Value]]:
    """The indexed values of these objects, by object."""
    found: dict[int, list[Value]] = {}
    c = observables.c
    stmt = (
        select(c.object_pk, c.kind, c.value, c.lo, c.hi)
        .where(c.object_pk.in_(pks), c.kind.in_(kinds))
        .order_by(c.object_pk, c.kind, c.value)
    )
    for pk, kind, value, lo, hi in session.execute(stmt):
        found.setdefault(pk, []).append(Value(kind, value, lo, hi))
    return found


def stream_rows(
    session: Session,
    principal: Principal,
    f: FeedFilter,
    *,
    now: datetime | None = None,
    page: int = PAGE,
    stats: FeedStats | None = None,
) -> Iterator[ExportRow]:
    """Every value of every visible indicator that passes `f`, page by page."""
    now_us = ts_to_us((now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
    kinds = _index_kinds(f)
    stats = stats if stats is not None else FeedStats()
    check_lists = not f.include_warninglisted
    stmt = feed_statement(principal, f).add_columns(
        ORGS.c.name.label("org_name"), ORGS.c.country, ORGS.c.sector
    )
    key = tuple_(objects.c.added_us, objects.c.pk)
    last: tuple[int, int] | None = None
    while True:
        paged = stmt if last is None else stmt.where(key > last)
        batch = session.execute(paged.order_by(objects.c.added_us, objects.c.pk).limit(page)).all()
        if not batch:
            return
        last = (batch[-1].added_us, batch[-1].pk)
        found = scores_of(session, [r.stix_id for r in batch])
        values = _values(session, [r.pk for r in batch], kinds)
        flagged: set[tuple[str, str]] = set()
        if check_lists:
            listed = [v for found in values.values() for v in found]
            flagged = set(warninglists.flags(session, listed))
        for r in batch:
            pairs = [
                (INDEX_KINDS[v.kind], v.value)
                for v in values.get(r.pk, ())
                if (v.kind, v.value) not in flagged
            ]
            if pairs:
                yield from _rows(r, pairs, f, now_us, found, stats)
        if len(batch) < page:
            return


def _rows(
    r: Any,
    pairs: list[tuple[Kind, str]],
    f: FeedFilter,
    now_us: int,
    scores: dict[str, Scored],
    stats: FeedStats,
) -> Iterator[ExportRow]:
    obj = orjson.loads(r.raw)
    score, decayed_us = scores.get(r.stix_id, (None, None))
    if score is None and isinstance(obj.get("confidence"), int):
        score = obj["confidence"]
    # The earlier of the publisher's valid_until and the end the score's decay sets.
    ends = [decayed_us] if decayed_us is not None else []
    with contextlib.suppress(ValueError):
        ends += [ts_to_us(obj["valid_until"])] if obj.get("valid_until") else []
    until_us = min(ends) if ends else None
    if until_us is not None and until_us <= now_us and not f.include_expired:
        stats.expired_us = max(stats.expired_us, until_us)
        return
    if until_us is not None and until_us > now_us:
        ahead = stats.next_expiry_us
        stats.next_expiry_us = until_us if not ahead else min(ahead, until_us)
    valid_until = us_to_ts(until_us) if until_us is not None else None
    if f.min_score is not None and (score is None or score < f.min_score):
        return
    for kind, value in pairs:
        yield ExportRow(
            kind=kind,
            value=value,
            stix_id=r.stix_id,
            tlp=r.tlp,
            score=score,
            valid_until=valid_until,
            org=r.org_name,
            country=r.country,
            sector=r.sector,
            name=str(obj.get("name") or ""),
            modified=r.modified,
            raw=r.raw,
        )
