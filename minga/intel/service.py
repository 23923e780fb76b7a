"""Storing and reading STIX objects. Every read goes through `minga.policy`."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import orjson
from sqlalchemy import (
    Select,
    and_,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    text,
    true,
    tuple_,
    update,
)
from sqlalchemy.orm import Session

from minga import audit
from minga.accounts.models import GroupMember, Organisation
from minga.errors import Forbidden, InvalidInput, NotFound
from minga.intel.models import object_groups, objects
from minga.intel.stix import (
    SCO_TYPES,
    TLP2_MARKING_ID,
    check_object,
    now_ts,
    search_text,
    tlp_of,
    ts_to_us,
    us_to_ts,
    version_of,
)
from minga.policy import (
    Action,
    Marking,
    Principal,
    Reach,
    Role,
    Tlp,
    may,
    may_change_tlp,
    may_see,
    visible_filter,
)

CHUNK = 500  # ids per IN (...) lookup: well under every backend's parameter limit


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where objects came from when they did not originate on this node."""

    source: str | None = None
    origin_node: str | None = None
    hop_count: int = 0


@dataclass(slots=True)
class WriteResult:
    created: list[tuple[str, str]] = field(default_factory=list)  # (id, version)
    existing: list[tuple[str, str]] = field(default_factory=list)


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


_COLUMNS = (
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


def _stored(row: Any) -> StoredObject:
    return StoredObject(
        pk=row.pk,
        stix_id=row.stix_id,
        type=row.type,
        version=row.modified,
        added_us=row.added_us,
        owner_org_id=row.owner_org_id,
        tlp=Tlp(row.tlp),
        reach=Reach(row.reach),
        revoked=bool(row.revoked),
        is_latest=bool(row.is_latest),
        source=row.source,
        origin_node=row.origin_node,
        raw=row.raw,
    )


def _next_added_us(session: Session, count: int) -> int:
    """First of `count` consecutive date_added values, later than every stored one."""
    last = session.scalar(select(func.max(objects.c.added_us))) or 0
    return max(time.time_ns() // 1000, last + 1)


def parse_tlp(value: str | None) -> Tlp | None:
    if value is None or value == "":
        return None
    try:
        return Tlp(value.strip().lower().removeprefix("tlp:"))
    except ValueError:
        raise InvalidInput(
            f"unknown TLP {value!r}: use clear, green, amber, amber+strict or red"
        ) from None


def parse_reach(value: str | None) -> Reach:
    if value is None or value == "":
        return Reach.COMMUNITY
    try:
        return Reach(value.strip().lower())
    except ValueError:
        raise InvalidInput(
            f"unknown reach {value!r}: use organisation, community, connected or federation"
        ) from None


def _resolve_groups(session: Session, principal: Principal, group_ids: Sequence[int]) -> list[int]:
    wanted = sorted(set(group_ids))
    if not wanted:
        return []
    if not may(principal, Action.MANAGE_GROUPS):
        foreign = set(wanted) - principal.group_ids
        if foreign:
            raise Forbidden("you can only share with sharing groups your organisation belongs to")
    found = set(
        session.scalars(select(GroupMember.group_id).where(GroupMember.group_id.in_(wanted)))
    )
    missing = set(wanted) - found
    if missing:
        raise InvalidInput(f"unknown sharing group(s): {sorted(missing)}")
    return wanted


def create_objects(
    session: Session,
    principal: Principal,
    items: Sequence[Any],
    *,
    tlp: Tlp | None = None,
    reach: Reach = Reach.COMMUNITY,
    group_ids: Sequence[int] = (),
    provenance: Provenance = Provenance(),
    enforce_creator: bool = True,
) -> WriteResult:
    """Store objects (new ones and new versions) all or nothing.

    `tlp` applies to objects that carry no TLP marking (and is added to them as one); an object's
    own marking must agree with it. Re-sending a stored version is not an error. Any invalid item
    fails the whole batch with a per-item list of problems and stores nothing.
    """
    if not may(principal, Action.PUBLISH):
        raise Forbidden(f"the role {principal.role.value!r} may not publish objects")
    groups = _resolve_groups(session, principal, group_ids)
    errors: list[dict[str, Any]] = []
    prepared: dict[tuple[str, int], dict[str, Any]] = {}
    for index, obj in enumerate(items):
        problems = check_object(obj)
        if not problems:
            problems = _apply_markings(obj, principal, tlp, enforce_creator)
        if problems:
            errors.append({"index": index, "id": _id_or_none(obj), "problems": problems})
            continue
        version = version_of(obj)
        key = (obj["id"], ts_to_us(version) if version else 0)
        prepared.setdefault(key, obj)
    if errors:
        raise InvalidInput(f"{len(errors)} of {len(items)} objects are invalid", details=errors)
    result = WriteResult()
    if not prepared:
        return result
    current = _current_versions(session, {k[0] for k in prepared})
    rows: list[dict[str, Any]] = []
    newest: dict[str, int] = {}
    for (stix_id, mod_us), obj in prepared.items():
        known = current.get(stix_id)
        obj_tlp = tlp_of(obj) or Tlp.CLEAR
        if known is not None:
            if mod_us in known.versions:
                # Already stored (by anyone): two members importing the same feed is no error,
                # and it changes nothing, so no markings or content of the stored copy move.
                result.existing.append((stix_id, version_of(obj)))
                continue
            if known.owner_org_id != principal.org_id:
                errors.append(
                    {
                        "id": stix_id,
                        "problems": ["only the organisation that created it may version it"],
                    }
                )
                continue
            if mod_us > known.latest_us and not may_change_tlp(
                known.latest_tlp, obj_tlp, is_owner=known.owner_org_id == principal.org_id
            ):
                errors.append({"id": stix_id, "problems": ["TLP may not be lowered"]})
                continue
        is_latest = known is None or mod_us > known.latest_us
        if is_latest and mod_us >= newest.get(stix_id, -1):
            newest[stix_id] = mod_us
        rows.append(_row(obj, principal, obj_tlp, reach, bool(groups), provenance, mod_us))
    if errors:
        raise Forbidden(f"{len(errors)} objects may not be stored by you", details=errors)
    if not rows:
        return result
    # Within one batch, only the newest version of an id is the latest.
    for row in rows:
        row["is_latest"] = newest.get(row["stix_id"]) == row["modified_us"]
    stale = [sid for sid in newest if sid in current]
    with _by_id_index(session):
        for chunk in _chunks(stale):
            session.execute(
                update(objects)
                .where(objects.c.stix_id.in_(chunk), objects.c.is_latest == true())
                .values(is_latest=False)
            )
    first = _next_added_us(session, len(rows))
    for offset, row in enumerate(rows):
        row["added_us"] = first + offset
    if groups:
        pks = session.execute(insert(objects).returning(objects.c.pk), rows).scalars().all()
        session.execute(
            insert(object_groups), [{"object_pk": pk, "group_id": g} for pk in pks for g in groups]
        )
    else:
        _insert_many(session, rows)
    result.created.extend((r["stix_id"], r["modified"]) for r in rows)
    audit.record(
        session,
        principal,
        "objects.create",
        "stix",
        rows[0]["stix_id"] if len(rows) == 1 else f"{len(rows)} objects",
        count=len(rows),
        tlp=tlp.value if tlp else None,
        reach=reach.value,
        groups=groups,
        source=provenance.source,
    )
    return result


ROW_KEYS = (
    "stix_id", "type", "spec_version", "created", "modified", "modified_us", "added_us",
    "owner_org_id", "tlp", "reach", "has_groups", "origin_node", "hop_count", "source",
    "revoked", "is_latest", "search_text", "raw",
)  # fmt: skip


def _insert_many(session: Session, rows: list[dict[str, Any]]) -> None:
    """Driver-level executemany: SQLAlchemy's per-row parameter processing costs ~15% of a bulk
    write and these rows are already plain str/int/bool values."""
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        # COPY is several times faster than a pipelined executemany on PostgreSQL.
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        with cursor.copy(f"COPY {objects.name} ({', '.join(ROW_KEYS)}) FROM STDIN") as copy:
            for r in rows:
                copy.write_row(tuple(r[k] for k in ROW_KEYS))
        return
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = (
        f"INSERT INTO {objects.name} ({', '.join(ROW_KEYS)}) "
        f"VALUES ({', '.join([mark] * len(ROW_KEYS))})"
    )
    conn.exec_driver_sql(sql, [tuple(r[k] for k in ROW_KEYS) for r in rows])


def _id_or_none(obj: Any) -> str | None:
    return obj.get("id") if isinstance(obj, dict) and isinstance(obj.get("id"), str) else None


def _apply_markings(
    obj: dict[str, Any], principal: Principal, tlp: Tlp | None, enforce_creator: bool
) -> list[str]:
    own = tlp_of(obj)
    if own is not None and tlp is not None and own is not tlp:
        return [
            f"the object is marked TLP:{own.value.upper()} but TLP:{tlp.value.upper()} was asked"
        ]
    if obj["type"] in SCO_TYPES:
        return []
    creator = obj.get("created_by_ref")
    if enforce_creator:
        if creator is None:
            obj["created_by_ref"] = principal.identity_ref
        elif creator != principal.identity_ref:
            return [f"created_by_ref must be your organisation's identity {principal.identity_ref}"]
    if own is None and obj["type"] != "marking-definition":
        refs = list(obj.get("object_marking_refs") or [])
        refs.append(TLP2_MARKING_ID[tlp or Tlp.AMBER])
        obj["object_marking_refs"] = refs
    return []


@dataclass(slots=True)
class _Known:
    owner_org_id: int
    latest_us: int
    latest_tlp: Tlp
    versions: set[int]


@contextmanager
def _by_id_index(session: Session) -> Iterator[None]:
    """Make PostgreSQL look ids up through the index even without planner statistics.

    Without ANALYZE (autovacuum off, or a table that just grew) PostgreSQL guesses 0.5% of rows
    per IN value and seq-scans the whole store for every batch: bulk writes turn quadratic.
    """
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        session.execute(text("SET LOCAL enable_seqscan = off"))
    try:
        yield
    finally:
        if postgres:
            session.execute(text("SET LOCAL enable_seqscan = on"))


def _current_versions(session: Session, ids: Iterable[str]) -> dict[str, _Known]:
    with _by_id_index(session):
        return _current_versions_of(session, ids)


def _current_versions_of(session: Session, ids: Iterable[str]) -> dict[str, _Known]:
    known: dict[str, _Known] = {}
    for chunk in _chunks(sorted(ids)):
        rows = session.execute(
            select(
                objects.c.stix_id,
                objects.c.modified_us,
                objects.c.owner_org_id,
                objects.c.tlp,
                objects.c.is_latest,
            ).where(objects.c.stix_id.in_(chunk))
        )
        for sid, mod_us, owner, tlp, latest in rows:
            k = known.setdefault(sid, _Known(owner, -1, Tlp(tlp), set()))
            k.versions.add(mod_us)
            if latest or mod_us > k.latest_us:
                k.latest_us, k.latest_tlp = max(k.latest_us, mod_us), Tlp(tlp)
    return known


def _chunks(values: Sequence[str]) -> Iterable[Sequence[str]]:
    for i in range(0, len(values), CHUNK):
        yield values[i : i + CHUNK]


def _row(
    obj: dict[str, Any],
    principal: Principal,
    tlp: Tlp,
    reach: Reach,
    has_groups: bool,
    provenance: Provenance,
    mod_us: int,
) -> dict[str, Any]:
    version = version_of(obj)
    return {
        "stix_id": obj["id"],
        "type": obj["type"],
        "spec_version": obj.get("spec_version", "2.1"),
        "created": obj.get("created", version),
        "modified": version,
        "modified_us": mod_us,
        "owner_org_id": principal.org_id,
        "tlp": tlp.value,
        "reach": reach.value,
        "has_groups": has_groups,
        "origin_node": provenance.origin_node,
        "hop_count": provenance.hop_count,
        "source": provenance.source,
        "revoked": bool(obj.get("revoked", False)),
        "search_text": search_text(obj),
        "raw": orjson.dumps(obj).decode(),
    }


def store_identity(session: Session, org: Organisation) -> None:
    """The STIX identity of a member organisation, visible to the whole community."""
    ts = now_ts()
    identity = {
        "type": "identity",
        "spec_version": "2.1",
        "id": org.identity_ref,
        "created": ts,
        "modified": ts,
        "name": org.name,
        "identity_class": "organization",
        "sectors": [org.sector],
        "contact_information": f"Member of this Minga node ({org.country})",
        "object_marking_refs": [TLP2_MARKING_ID[Tlp.CLEAR]],
        "x_minga_country": org.country,
    }
    principal = Principal(
        user_id=0, org_id=org.id, role=Role.MACHINE, identity_ref=org.identity_ref
    )
    create_objects(session, principal, [identity], tlp=Tlp.CLEAR, reach=Reach.FEDERATION)


# -- reading -------------------------------------------------------------------------------


def _groups_of(session: Session, pk: int) -> frozenset[int]:
    return frozenset(
        session.scalars(select(object_groups.c.group_id).where(object_groups.c.object_pk == pk))
    )


def marking_of(session: Session, obj: StoredObject) -> Marking:
    return Marking(obj.owner_org_id, obj.tlp, obj.reach, _groups_of(session, obj.pk))


def get_object(
    session: Session, principal: Principal, stix_id: str, version: str | None = None
) -> StoredObject:
    """The newest version (or the named one) of an object that `principal` may see."""
    stmt = (
        select(*_COLUMNS)
        .where(objects.c.stix_id == stix_id, visible_filter(principal, objects, object_groups))
        .order_by(objects.c.modified_us.desc())
        .limit(1)
    )
    if version is not None:
        try:
            stmt = stmt.where(objects.c.modified_us == ts_to_us(version))
        except ValueError as exc:
            raise InvalidInput(str(exc)) from None
    row = session.execute(stmt).first()
    if row is None:
        raise NotFound(f"no object {stix_id} that you may see")
    found = _stored(row)
    # The SQL filter decided; the pure function must agree (cheap, one object).
    if not may_see(principal, marking_of(session, found)):
        raise NotFound(f"no object {stix_id} that you may see")
    return found


def versions(session: Session, principal: Principal, stix_id: str) -> list[StoredObject]:
    stmt = (
        select(*_COLUMNS)
        .where(objects.c.stix_id == stix_id, visible_filter(principal, objects, object_groups))
        .order_by(objects.c.modified_us)
    )
    found = [_stored(r) for r in session.execute(stmt)]
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
        return direction == "d", int(added), int(pk)
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput("the cursor is not one this node issued") from None


def query_statement(principal: Principal, q: ObjectQuery) -> Select[Any]:
    stmt = select(*_COLUMNS).where(visible_filter(principal, objects, object_groups))
    if not q.all_versions:
        stmt = stmt.where(_version_selection(q))
    if q.types:
        stmt = stmt.where(objects.c.type.in_(list(q.types)))
    if q.tlps:
        stmt = stmt.where(objects.c.tlp.in_([t.value for t in q.tlps]))
    if q.ids:
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
        escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = stmt.where(objects.c.search_text.like(f"%{escaped}%", escape="\\"))
    if not q.include_revoked:
        stmt = stmt.where(objects.c.revoked == False)  # noqa: E712
    return stmt


def _version_selection(q: ObjectQuery) -> Any:
    chosen: list[Any] = []
    if q.last_version or not (q.first_version or q.versions_us):
        chosen.append(objects.c.is_latest == true())
    if q.first_version:
        older = objects.alias("older")
        earlier = select(older.c.pk).where(
            older.c.stix_id == objects.c.stix_id, older.c.modified_us < objects.c.modified_us
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
    stmt = query_statement(principal, q)
    newest_first = q.newest_first
    key = tuple_(objects.c.added_us, objects.c.pk)
    if cursor:
        newest_first, added, pk = decode_cursor(cursor)
        stmt = stmt.where(key < (added, pk) if newest_first else key > (added, pk))
    if newest_first:
        stmt = stmt.order_by(objects.c.added_us.desc(), objects.c.pk.desc())
    else:
        stmt = stmt.order_by(objects.c.added_us, objects.c.pk)
    rows = [_stored(r) for r in session.execute(stmt.limit(limit + 1))]
    more = len(rows) > limit
    rows = rows[:limit]
    nxt = encode_cursor(rows[-1].added_us, rows[-1].pk, newest_first) if more and rows else None
    return Page(rows, nxt)


def count_objects(session: Session, principal: Principal, q: ObjectQuery) -> int:
    sub = query_statement(principal, q).subquery()
    return int(session.scalar(select(func.count()).select_from(sub)) or 0)


def revoke(session: Session, principal: Principal, stix_id: str) -> StoredObject:
    """Publish a new version marked revoked; only the owning organisation may."""
    current = get_object(session, principal, stix_id)
    if current.owner_org_id != principal.org_id:
        raise Forbidden("only the organisation that created an object may revoke it")
    if current.type in SCO_TYPES:
        raise InvalidInput("cyber observables have no versions and cannot be revoked")
    obj = current.object()
    if obj.get("revoked"):
        return current
    obj["modified"] = us_to_ts(max(ts_to_us(now_ts()), ts_to_us(obj["modified"]) + 1000))
    obj["revoked"] = True
    groups = sorted(_groups_of(session, current.pk))
    create_objects(
        session,
        principal,
        [obj],
        tlp=current.tlp,
        reach=current.reach,
        group_ids=groups,
        provenance=Provenance(current.source, current.origin_node),
    )
    return get_object(session, principal, stix_id)


def delete_objects(
    session: Session, principal: Principal, stix_id: str, q: ObjectQuery | None = None
) -> list[StoredObject]:
    """Hard-delete the versions of one object matching `q` (default: every version).

    Only the owning organisation may; the newest remaining version becomes the latest.
    """
    if not may(principal, Action.PUBLISH):
        raise Forbidden(f"the role {principal.role.value!r} may not delete objects")
    q = replace(q or ObjectQuery(all_versions=True), ids=[stix_id], include_revoked=True)
    found = [_stored(r) for r in session.execute(query_statement(principal, q))]
    if not found:
        raise NotFound(f"no object {stix_id} that you may see")
    if any(f.owner_org_id != principal.org_id for f in found):
        raise Forbidden("only the organisation that created an object may delete it")
    pks = [f.pk for f in found]
    session.execute(delete(object_groups).where(object_groups.c.object_pk.in_(pks)))
    session.execute(delete(objects).where(objects.c.pk.in_(pks)))
    newest = session.scalar(
        select(func.max(objects.c.modified_us)).where(objects.c.stix_id == stix_id)
    )
    if newest is not None:
        session.execute(
            update(objects)
            .where(objects.c.stix_id == stix_id)
            .values(is_latest=objects.c.modified_us == newest)
        )
    audit.record(
        session,
        principal,
        "objects.delete",
        "stix",
        stix_id,
        versions=[f.version or f.date_added for f in found],
    )
    return found
