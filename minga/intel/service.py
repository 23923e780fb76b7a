"""Storing and reading STIX objects. Every read goes through `minga.policy`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import (
    false,
    insert,
    select,
    update,
)
from sqlalchemy.orm import Session

from minga import audit
from minga.accounts.models import GroupMember, Organisation
from minga.correlate import duplicates
from minga.correlate import store as observable_index
from minga.correlate.normalise import Value
from minga.correlate.stored import after_store
from minga.errors import Conflict, Forbidden, InvalidInput
from minga.events import outbox
from minga.intel import copies, positions
from minga.intel.copies import Held
from minga.intel.models import latest_flag, object_groups, objects
from minga.intel.prepare import CONFLICT, NOT_OWNER, prepare, problem

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
from minga.intel.removal import delete_objects as delete_objects
from minga.intel.rows import ROW_CHUNK, build_row, early_rows, insert_many, same_content
from minga.intel.stix import (
    SCO_TYPES,
    TLP2_MARKING_ID,
    now_ts,
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
    # Indicators sent under a new id for values the writer had published: stored as (versions
    # of) its known indicators (`link_known`, `minga.correlate.duplicates`).
    linked: list[duplicates.Linked] = field(default_factory=list)


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
    link_known: bool = False,
) -> WriteResult:
    """Store objects (new ones and new versions) all or nothing.

    `tlp` applies to objects that carry no TLP marking (and is added to them as one); an object's
    own marking must agree with it. Re-sending a stored version is not an error; the same id and
    `modified` with other content is a `Conflict` (SCOs have no versions: their id is their
    value). An id of which the writer may see no copy is stored as its own copy, answered as
    for an unknown id (`minga.intel.copies`). Any invalid item fails the whole batch with a
    per-item list of problems (`index` into `items`) and stores nothing.

    `link_known` (what an organisation publishes itself: reports, CSV rows, REST): an
    indicator under a new id for values the writer already published becomes a new version of
    its known indicator, or nothing new if it says nothing new (`result.linked`).

    From reading the stored versions to the commit, the write holds the store's write lock
    (`positions.lock`): the latest flag and the positions (date_added) are decided on everything
    committed, whatever other writers or processes do at the same time.
    """
    if not may(principal, Action.PUBLISH):
        raise Forbidden(f"the role {principal.role.value!r} may not publish objects")
    groups = _resolve_groups(session, principal, group_ids)
    prepared, invalid, refused = prepare(items, principal, tlp, enforce_creator)
    if invalid:
        raise InvalidInput(f"{len(invalid)} of {len(items)} objects are invalid", details=invalid)
    result = WriteResult()
    if not prepared:
        return result
    # Rows and index values made before the lock (other writers store meanwhile); not for a
    # large write (made a chunk at a time below), nor where `link_known` may rewrite objects.
    early = (
        early_rows(
            ((i.obj, i.tlp, k[1]) for k, i in prepared.items()),
            principal, reach, bool(groups), provenance,
        )
        if not link_known and len(prepared) <= ROW_CHUNK
        else {}
    )  # fmt: skip
    last = positions.lock(session)
    current = copies.held(session, principal, {k[0] for k in prepared})
    if link_known:
        held_ids = {sid for sid, h in current.items() if h.own is not None}
        prepared, result.linked, known = duplicates.link(session, principal, prepared, held_ids)
        result.existing.extend(known)
        if result.linked:
            current = copies.held(session, principal, {k[0] for k in prepared})
    stored = copies.stored_content(
        session, principal, [k for k in prepared if k[1] in _known(current.get(k[0]))]
    )
    planned: list[tuple[dict[str, Any], Tlp, int]] = []
    newest: dict[str, int] = {}
    shared: set[str] = set()  # ids another organisation holds a copy of
    for (stix_id, mod_us), item in prepared.items():
        obj = item.obj
        held = current.get(stix_id) or Held()
        own = held.own
        obj_tlp = item.tlp
        if mod_us in _known(held):
            same = stored.get((stix_id, mod_us))
            if mod_us and same is not None and not same_content(same, obj, item.sent):
                refused.append(problem(item, CONFLICT))
            else:
                # Already stored (by anyone): two members importing the same feed is no
                # error, and it changes nothing, so no markings or content of it move.
                result.existing.append((stix_id, version_of(obj)))
            continue
        if own is None and held.seen:
            refused.append(problem(item, NOT_OWNER))
            continue
        if (
            own is not None
            and mod_us > own.latest_us
            and not may_change_tlp(own.latest_tlp, obj_tlp, is_owner=True)
        ):
            refused.append(problem(item, "TLP may not be lowered"))
            continue
        # No copy the writer may see, or its own: stored as for an id nobody holds.
        if own is None or mod_us > own.latest_us:
            newest[stix_id] = max(mod_us, newest.get(stix_id, -1))
        if held.others:
            shared.add(stix_id)
        planned.append((obj, obj_tlp, mod_us))
    if refused:
        conflict = all(CONFLICT in d["problems"][0] for d in refused)
        raise (Conflict if conflict else Forbidden)(
            f"{len(refused)} objects may not be stored"
            + (": they conflict with stored versions" if conflict else " by you"),
            details=sorted(refused, key=lambda d: d["index"]),
        )
    if not planned:
        return result
    versioned = [sid for sid in newest if (h := current.get(sid)) is not None and h.own]
    _retire(session, principal, versioned, sorted(shared))
    first = positions.first_free(last)
    # Rows are built and written a chunk at a time (all in this one transaction): a 100 MB
    # import would otherwise hold a second, serialised copy of every object at once.
    for start in range(0, len(planned), ROW_CHUNK):
        rows = []
        chunk = planned[start : start + ROW_CHUNK]
        values: list[list[Value] | None] = []
        for offset, (obj, obj_tlp, mod_us) in enumerate(chunk, start):
            made = early.get(id(obj))
            if made is None:
                row = build_row(obj, principal, obj_tlp, reach, bool(groups), provenance, mod_us)
                values.append(None)
            else:
                row = made[0]
                values.append(made[1])
            # Within one batch, only the newest version of an id is the latest.
            row["is_latest"] = newest.get(row["stix_id"]) == mod_us
            row["has_copies"] = row["stix_id"] in shared
            row["added_us"] = first + offset
            rows.append(row)
        if groups:
            stmt = insert(objects).returning(objects.c.pk, sort_by_parameter_order=True)
            pks = session.execute(stmt, rows).scalars().all()
            session.execute(
                insert(object_groups),
                [{"object_pk": pk, "group_id": g} for pk in pks for g in groups],
            )
            observable_index.write_keyed(session, zip(pks, (p[0] for p in chunk), strict=True))
        else:
            insert_many(session, rows)
            # The observable index, in this same transaction (`minga.correlate`).
            observable_index.write(
                session,
                [(r["added_us"], p[0]) for r, p in zip(rows, chunk, strict=True)],
                values=values,
            )
        result.created.extend((r["stix_id"], r["modified"]) for r in rows)
    positions.advance(session, first + len(planned) - 1)
    # Sightings counted and scores recomputed in this same transaction.
    after_store(session, principal, [p[0] for p in planned], newest, provenance.origin_node)
    _announce(session, principal, planned, first, provenance)
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


def _announce(
    session: Session,
    principal: Principal,
    planned: list[tuple[dict[str, Any], Tlp, int]],
    first: int,
    provenance: Provenance,
) -> None:
    """One outbox event for the whole write: the positions it used and what kinds it stored."""
    types: dict[str, int] = {}
    revoked = 0
    for obj, _tlp, _mod in planned:
        types[obj["type"]] = types.get(obj["type"], 0) + 1
        revoked += bool(obj.get("revoked"))
    outbox.emit(
        session,
        outbox.OBJECTS,
        actor_org_id=principal.org_id,
        actor_user_id=principal.user_id,
        subject=planned[0][0]["id"] if len(planned) == 1 else None,
        first_us=first,
        last_us=first + len(planned) - 1,
        count=len(planned),
        payload={"types": types, "revoked": revoked, "origin_node": provenance.origin_node},
    )


def _known(held: Held | None) -> set[int]:
    """The stored versions of an id the writer knows of: its own copy's, else those it sees."""
    if held is None:
        return set()
    return held.own.versions if held.own is not None else held.seen


def _retire(
    session: Session, principal: Principal, versioned: list[str], shared: list[str]
) -> None:
    """Before new rows go in: the writer's copies of `versioned` ids lose their latest flag;
    every copy of a `shared` id is flagged as one of several."""
    with copies.by_id_index(session):
        for chunk in copies.chunks(versioned):
            session.execute(
                update(objects)
                .where(
                    objects.c.stix_id.in_(chunk),
                    objects.c.owner_org_id == principal.org_id,
                    latest_flag(objects),
                )
                .values(is_latest=False)
            )
        for chunk in copies.chunks(shared):
            session.execute(
                update(objects)
                .where(objects.c.stix_id.in_(chunk), objects.c.has_copies == false())
                .values(has_copies=True)
            )


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
    if not may(principal, Action.PUBLISH):
        raise Forbidden(f"the role {principal.role.value!r} may not revoke objects")
    current = get_object(session, principal, stix_id)
    if current.owner_org_id != principal.org_id:
        own = ObjectQuery(ids=[stix_id], owner_org_id=principal.org_id, include_revoked=True)
        rows = session.execute(query_statement(principal, replace(own, one_copy=False))).all()
        if not rows:
            raise Forbidden("only the organisation that created an object may revoke it")
        current = stored_object(rows[0])
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
