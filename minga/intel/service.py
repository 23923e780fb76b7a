"""Storing and reading STIX objects. Every read goes through `minga.policy`."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import orjson
from sqlalchemy import (
    delete,
    func,
    insert,
    select,
    text,
    true,
    update,
)
from sqlalchemy.orm import Session

from minga import audit
from minga.accounts.models import GroupMember, Organisation
from minga.errors import Forbidden, InvalidInput, NotFound
from minga.intel.models import object_groups, objects

# The read API lives in `queries`; it is re-exported so callers use `intel.service` alone.
from minga.intel.queries import (
    CHUNK as CHUNK,
)
from minga.intel.queries import (
    COLUMNS as COLUMNS,
)
from minga.intel.queries import (
    ObjectQuery as ObjectQuery,
)
from minga.intel.queries import (
    Page as Page,
)
from minga.intel.queries import (
    StoredObject as StoredObject,
)
from minga.intel.queries import (
    count_objects as count_objects,
)
from minga.intel.queries import (
    decode_cursor as decode_cursor,
)
from minga.intel.queries import (
    encode_cursor as encode_cursor,
)
from minga.intel.queries import (
    get_object as get_object,
)
from minga.intel.queries import (
    groups_of as groups_of,
)
from minga.intel.queries import (
    list_objects as list_objects,
)
from minga.intel.queries import (
    marking_of as marking_of,
)
from minga.intel.queries import (
    query_statement as query_statement,
)
from minga.intel.queries import (
    stored_object as stored_object,
)
from minga.intel.queries import (
    versions as versions,
)
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
    Principal,
    Reach,
    Role,
    Tlp,
    may,
    may_change_tlp,
)


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


def _next_added_us(session: Session) -> int:
    """The first date_added of a batch (rows then take consecutive µs), after every stored one."""
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
    """The groups to share with; each must count the principal's organisation among its members.
    An unknown group gets the same answer as a group one is not in."""
    from minga.policy import Target  # kept local: only this function is the authority change

    wanted = sorted(set(group_ids))
    if not wanted:
        return []
    rows = session.execute(
        select(GroupMember.group_id, GroupMember.org_id).where(GroupMember.group_id.in_(wanted))
    ).all()
    members: dict[int, set[int]] = {gid: set() for gid in wanted}
    for gid, org_id in rows:
        members[gid].add(org_id)
    for gid in wanted:
        target = Target(org_id=None, member_org_ids=frozenset(members[gid]))
        if not may(principal, Action.SHARE_WITH_GROUP, target):
            raise Forbidden("you can only share with sharing groups your organisation belongs to")
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
    planned: list[tuple[dict[str, Any], Tlp, int]] = []
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
        planned.append((obj, obj_tlp, mod_us))
    if errors:
        raise Forbidden(f"{len(errors)} objects may not be stored by you", details=errors)
    if not planned:
        return result
    stale = [sid for sid in newest if sid in current]
    with _by_id_index(session):
        for chunk in _chunks(stale):
            session.execute(
                update(objects)
                .where(objects.c.stix_id.in_(chunk), objects.c.is_latest == true())
                .values(is_latest=False)
            )
    first = _next_added_us(session)
    # Rows are built and written a chunk at a time (all in this one transaction): a 100 MB
    # import would otherwise hold a second, serialised copy of every object at once.
    for start in range(0, len(planned), ROW_CHUNK):
        rows = []
        for offset, (obj, obj_tlp, mod_us) in enumerate(planned[start : start + ROW_CHUNK], start):
            row = _row(obj, principal, obj_tlp, reach, bool(groups), provenance, mod_us)
            # Within one batch, only the newest version of an id is the latest.
            row["is_latest"] = newest.get(row["stix_id"]) == mod_us
            row["added_us"] = first + offset
            rows.append(row)
        if groups:
            pks = session.execute(insert(objects).returning(objects.c.pk), rows).scalars().all()
            session.execute(
                insert(object_groups),
                [{"object_pk": pk, "group_id": g} for pk in pks for g in groups],
            )
        else:
            _insert_many(session, rows)
        result.created.extend((r["stix_id"], r["modified"]) for r in rows)
    audit.record(
        session,
        principal,
        "objects.create",
        "stix",
        result.created[0][0] if len(planned) == 1 else f"{len(planned)} objects",
        count=len(planned),
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
    """Owner, stored versions and newest version (with its TLP) of each stored id."""
    known: dict[str, _Known] = {}
    with _by_id_index(session):
        for chunk in _chunks(sorted(ids)):
            rows = session.execute(
                select(
                    objects.c.stix_id, objects.c.modified_us, objects.c.owner_org_id, objects.c.tlp
                ).where(objects.c.stix_id.in_(chunk))
            )
            for sid, mod_us, owner, tlp in rows:
                k = known.setdefault(sid, _Known(owner, -1, Tlp(tlp), set()))
                k.versions.add(mod_us)
                if mod_us > k.latest_us:
                    k.latest_us, k.latest_tlp = mod_us, Tlp(tlp)
    return known


ROW_CHUNK = 5000  # objects serialised and written per round of one bulk write


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
    groups = sorted(groups_of(session, current.pk))
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
    found = [stored_object(r) for r in session.execute(query_statement(principal, q))]
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
