"""Reading STIX objects: every query here applies `minga.policy.visible_filter`."""

from __future__ import annotations

import base64
import functools
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import orjson
from sqlalchemy import Select, and_, exists, false, func, literal_column, or_, select, true
from sqlalchemy.orm import Session

from minga.errors import InvalidInput, NotFound
from minga.intel import prepared, search
from minga.intel.models import latest_flag, object_groups, objects
from minga.intel.search import like, text_condition
from minga.intel.stix import ts_to_us, us_to_ts
from minga.policy import Marking, Principal, Reach, Tlp, may_see, real_only, visible_filter

BIGINT = 2**63  # positions and keys are 64-bit signed integers on every backend
CHUNK = 500  # ids per IN (...) lookup: well under every backend's parameter limit
# Named aliases are immutable: built once, not per query (their column sets cost ~1 ms each).
OTHER_COPY = objects.alias("other_copy")
OTHER_GROUPS = object_groups.alias("other_groups")
OLDER = objects.alias("older")
OLDER_GROUPS = object_groups.alias("older_groups")


@dataclass(frozen=True, slots=True)
class StoredObject:
    pk: int
    stix_id: str
    type: str
    version: str
    added_us: int
    owner_org_id: int
    tlp: Tlp
    reach: Reach
    revoked: bool
    is_latest: bool
    source: str | None
    origin_node: str | None
    raw: str

    @property
    def date_added(self) -> str:
        return us_to_ts(self.added_us)

    def object(self) -> dict[str, Any]:
        return orjson.loads(self.raw)


COLUMNS = (
    objects.c.pk,
    objects.c.stix_id,
    objects.c.type,
    objects.c.modified,
    objects.c.added_us,
    objects.c.owner_org_id,
    objects.c.tlp,
    objects.c.reach,
    objects.c.revoked,
    objects.c.is_latest,
    objects.c.source,
    objects.c.origin_node,
    objects.c.raw,
)


_TLPS = {t.value: t for t in Tlp}
_REACHES = {r.value: r for r in Reach}
_WIDTH = len(COLUMNS)


def stored_object(row: Any) -> StoredObject:
    """A row whose first columns are `COLUMNS` (every query here selects them first), unpacked
    by position and with dict look-ups for the enums: by name it was a fifth of the CPU of a
    TAXII page of 100 objects."""
    pk, sid, kind, version, added, owner, tlp, reach, revoked, latest, source, origin, raw = (
        row[:_WIDTH] if len(row) > _WIDTH else row
    )
    return StoredObject(
        pk, sid, kind, version, added, owner, _TLPS[tlp], _REACHES[reach], bool(revoked),
        bool(latest), source, origin, raw,
    )  # fmt: skip


def groups_of(session: Session, pk: int) -> frozenset[int]:
    return frozenset(
        session.scalars(select(object_groups.c.group_id).where(object_groups.c.object_pk == pk))
    )


def marking_of(session: Session, obj: StoredObject) -> Marking:
    return Marking(obj.owner_org_id, obj.tlp, obj.reach, groups_of(session, obj.pk))


def get_object(
    session: Session, principal: Principal, stix_id: str, version: str | None = None
) -> StoredObject:
    """The newest version (or the named one) of an object that `principal` may see."""
    values: dict[str, Any] = {"sid": stix_id}
    if version is not None:
        try:
            values["mod_us"] = ts_to_us(version)
        except ValueError as exc:
            raise InvalidInput(str(exc)) from None
    row = session.execute(prepared.object_statement(principal, version is not None), values).first()
    if row is None:
        raise NotFound(f"no object {stix_id} that you may see")
    found = stored_object(row)
    # The SQL filter decided; the pure function must agree (cheap, one object).
    if not may_see(principal, marking_of(session, found)):
        raise NotFound(f"no object {stix_id} that you may see")
    return found


def versions(session: Session, principal: Principal, stix_id: str) -> list[StoredObject]:
    stmt = (
        select(*COLUMNS, objects.c.modified_us)
        .where(objects.c.stix_id == stix_id, visible_filter(principal, objects, object_groups))
        .order_by(objects.c.modified_us, objects.c.added_us)
    )
    found: list[StoredObject] = []
    last = None
    for row in session.execute(stmt):
        if row.modified_us != last or not found:  # copies: the first stored of each version
            found.append(stored_object(row))
            last = row.modified_us
    if not found:
        raise NotFound(f"no object {stix_id} that you may see")
    return found


@dataclass(slots=True)
class ObjectQuery:
    types: Sequence[str] = ()
    tlps: Sequence[Tlp] = ()
    ids: Sequence[str] = ()
    owner_org_id: int | None = None
    added_after_us: int | None = None
    added_before_us: int | None = None
    modified_after_us: int | None = None
    modified_before_us: int | None = None
    text: str | None = None
    include_revoked: bool = False
    all_versions: bool = False
    newest_first: bool = True
    # Version selection (TAXII match[version]): any of these replaces "latest only".
    first_version: bool = False
    last_version: bool = False
    versions_us: Sequence[int] = ()  # modified, or date_added for objects without one (SCOs)
    spec_versions: Sequence[str] = ()
    sources: Sequence[str] = ()
    # Of the copies several organisations hold of one id (`minga.intel.copies`), one per
    # version (or the newest, for the latest); False lists every copy (deleting your own).
    one_copy: bool = True
    # The free-text condition as the text index resolved it (`with_text_index`); else a scan.
    text_condition: Any = None
    text_narrow: bool = False  # it names its candidate rows (`search.TextMatch`)
    text_chunked: bool = False  # common on SQLite: pages walk the index's rows (`_text_walk`)
    text_walk: str = ""  # and the text whose index rows they walk (`search.walk_text`)


@dataclass(frozen=True, slots=True)
class Page:
    items: list[StoredObject]
    next_cursor: str | None


def encode_cursor(added_us: int, pk: int, newest_first: bool) -> str:
    raw = f"{'d' if newest_first else 'a'}:{added_us}:{pk}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[bool, int, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        direction, added, pk = raw.split(":")
        if direction not in ("a", "d"):
            raise ValueError(direction)
        position, key = int(added), int(pk)
        if not (0 <= position < BIGINT and 0 <= key < BIGINT):
            raise ValueError(raw)  # out of the columns' range: the database would refuse it
        return direction == "d", position, key
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput("the cursor is not one this node issued") from None


def query_statement(principal: Principal, q: ObjectQuery) -> Select[Any]:
    stmt = select(*COLUMNS).where(
        visible_filter(principal, objects, object_groups), real_only(objects)
    )
    if not q.all_versions:
        stmt = stmt.where(_version_selection(principal, q))
    if q.types:
        stmt = stmt.where(objects.c.type.in_(list(q.types)))
    if q.tlps:
        stmt = stmt.where(objects.c.tlp.in_([t.value for t in q.tlps]))
    if len(q.ids) == 1:  # a look-up by id: no expanding IN list to rewrite per execution
        stmt = stmt.where(objects.c.stix_id == q.ids[0])
    elif q.ids:
        stmt = stmt.where(objects.c.stix_id.in_(list(q.ids)))
    if q.owner_org_id is not None:
        stmt = stmt.where(objects.c.owner_org_id == q.owner_org_id)
    if q.spec_versions:
        stmt = stmt.where(objects.c.spec_version.in_(list(q.spec_versions)))
    if q.sources:
        stmt = stmt.where(objects.c.source.in_(list(q.sources)))
    if q.added_after_us is not None:
        stmt = stmt.where(objects.c.added_us > q.added_after_us)
    if q.added_before_us is not None:
        stmt = stmt.where(objects.c.added_us < q.added_before_us)
    if q.modified_after_us is not None:
        stmt = stmt.where(objects.c.modified_us > q.modified_after_us)
    if q.modified_before_us is not None:
        stmt = stmt.where(objects.c.modified_us < q.modified_before_us)
    if q.text:
        needle = q.text.strip().lower()
        stmt = stmt.where(q.text_condition if q.text_condition is not None else like(needle))
    if not q.include_revoked:
        stmt = stmt.where(objects.c.revoked == False)  # noqa: E712
    if q.one_copy:
        stmt = stmt.where(_one_copy(principal, q))
    return stmt


def _one_copy(principal: Principal, q: ObjectQuery) -> Any:
    latest = not q.all_versions and not (q.first_version or q.versions_us)
    return one_copy_filter(principal, latest=latest)


def one_copy_filter(principal: Principal, *, latest: bool) -> Any:
    """Rows of ids held by one organisation pass; of several copies a reader may see, the
    earliest stored of each version passes (so a resumed reader never gets it twice) or, when
    only `latest` versions are wanted, the newest version. Made once per principal and kept,
    as `policy.visible_filter` is."""
    return _one_copy_filter(principal, latest)


@functools.lru_cache(maxsize=2048)
def _one_copy_filter(principal: Principal, latest: bool) -> Any:
    other, groups = OTHER_COPY, OTHER_GROUPS
    earlier = and_(
        other.c.modified_us == objects.c.modified_us, other.c.added_us < objects.c.added_us
    )
    better = earlier
    if latest:
        # A newer version in another copy means that copy's latest is newer too; leaving
        # is_latest out keeps the look-up on the id index.
        better = or_(other.c.modified_us > objects.c.modified_us, earlier)
    shown = select(other.c.pk).where(
        other.c.stix_id == objects.c.stix_id,
        other.c.pk != objects.c.pk,
        better,
        visible_filter(principal, other, groups),
    )
    return or_(objects.c.has_copies == false(), ~exists(shown))


def _version_selection(principal: Principal, q: ObjectQuery) -> Any:
    chosen: list[Any] = []
    if q.last_version or not (q.first_version or q.versions_us):
        narrow = q.ids or q.text_narrow  # rows named by key: look them up, no date walk
        chosen.append(latest_flag(objects) if narrow else objects.c.is_latest == true())
    if q.first_version:
        # The first version the reader may see: a hidden earlier one must not hide it.
        older = OLDER
        earlier = select(older.c.pk).where(
            older.c.stix_id == objects.c.stix_id,
            older.c.modified_us < objects.c.modified_us,
            visible_filter(principal, older, OLDER_GROUPS),
        )
        chosen.append(~exists(earlier))
    if q.versions_us:
        wanted = sorted(set(q.versions_us))
        chosen.append(
            or_(
                objects.c.modified_us.in_(wanted),
                and_(objects.c.modified_us == 0, objects.c.added_us.in_(wanted)),
            )
        )
    return chosen[0] if len(chosen) == 1 else or_(*chosen)


def with_text_index(session: Session, q: ObjectQuery) -> ObjectQuery:
    """`q` with its free-text condition resolved through the text index (`minga.intel.search`)."""
    if not q.text or q.text_condition is not None:
        return q
    found = text_condition(session, q.text.strip().lower())
    return replace(
        q,
        text_condition=found.condition,
        text_narrow=found.narrow,
        text_chunked=found.chunked,
        text_walk=found.walk,
    )


def list_objects(
    session: Session,
    principal: Principal,
    q: ObjectQuery,
    *,
    limit: int = 100,
    cursor: str | None = None,
) -> Page:
    """One page of visible objects ordered by date_added, with a stable cursor to the next."""
    if limit < 1:
        raise InvalidInput("limit must be at least 1")
    q = with_text_index(session, q)
    position = decode_cursor(cursor) if cursor else None
    newest_first = q.newest_first if position is None else position[0]
    shape = prepared.shape_of(q, position)
    if shape is not None:  # a statement made once for this caller and shape
        stmt = prepared.page_statement(principal, shape, limit)
        found = session.execute(stmt, prepared.values_of(q, position))
        rows = [stored_object(r) for r in found]
    elif q.text_chunked and newest_first:
        before = position[1:] if position is not None else None
        rows = _text_walk(session, principal, q, before, limit + 1)
    else:
        stmt = query_statement(principal, q)
        if position is not None:
            stmt = stmt.where(prepared.beyond(newest_first, position[1:]))
        stmt = stmt.order_by(*order_of(newest_first, narrow=q.text_narrow))
        rows = [stored_object(r) for r in session.execute(stmt.limit(limit + 1))]
    more = len(rows) > limit
    rows = rows[:limit]
    nxt = encode_cursor(rows[-1].added_us, rows[-1].pk, newest_first) if more and rows else None
    return Page(rows, nxt)


def order_of(newest_first: bool, *, narrow: bool) -> tuple[Any, Any]:
    """The page's order. When the rows are named by key (`narrow`), `+added_us` keeps the
    planner from walking the date index to skip a sort of the few rows it will find."""
    added: Any = objects.c.added_us
    pk: Any = objects.c.pk
    if narrow:
        added, pk = literal_column("+stix_objects.added_us"), literal_column("+stix_objects.pk")
    return (added.desc(), pk.desc()) if newest_first else (added.asc(), pk.asc())


def _text_walk(
    session: Session,
    principal: Principal,
    q: ObjectQuery,
    before: tuple[int, int] | None,
    wanted: int,
) -> list[StoredObject]:
    """Up to `wanted` rows of a common text, newest first, found through the SQLite text index.

    Walking every stored row in date order until a page of matches turns up costs the whole
    table when the visible matches are old or sparse (2.6 s at 1M objects). On SQLite, writes
    are serialised and a row's key grows with its date_added, so the index's rows read newest
    first (by key) come in the page's order: the rows written since the index last caught up
    first, then the indexed ones, joined to the index in one statement that stops at the page's
    end (`search.newest_matches`). `narrow` keeps every condition (the cursor, the policy, the
    confirming LIKE); the index only says where to look.
    """
    needle = q.text_walk or (q.text or "").strip().lower()
    indexed = search.last_indexed(session)
    narrow = query_statement(principal, replace(q, text_narrow=True))
    upto = indexed
    if before is not None:
        narrow = narrow.where(prepared.beyond(True, before))
        upto = min(indexed, before[1] - 1)
    rows: list[StoredObject] = []
    if upto == indexed:  # the page may start among the rows written since the last catch-up
        recent = narrow.where(objects.c.pk > indexed).order_by(*order_of(True, narrow=True))
        rows.extend(stored_object(r) for r in session.execute(recent.limit(wanted)))
    if len(rows) < wanted:
        found = search.newest_matches(narrow, needle, upto, wanted - len(rows))
        rows.extend(stored_object(r) for r in session.execute(found))
    return rows


def count_objects(session: Session, principal: Principal, q: ObjectQuery) -> int:
    sub = query_statement(principal, with_text_index(session, q)).subquery()
    return int(session.scalar(select(func.count()).select_from(sub)) or 0)
