"""No silent duplicates: an indicator an organisation publishes for values it has already
published becomes a new version of its existing indicator (or nothing new at all), whatever id
the report, CSV row or REST client gave it.

`link` runs inside `create_objects`, under the store's write lock, so two publishes of the same
value at the same moment still end with one indicator. It only touches indicators the writer
has not stored under their own id: a new version of a known id stays what it is. "The same
values" means the same set of normalised values (`minga.correlate.index`): one IP published
again, from a report or from a CSV with another column mapping, is the same indicator; a
pattern naming that IP and a domain is another one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from minga.accounts.models import Organisation
from minga.correlate.index import values_of
from minga.correlate.models import observables
from minga.correlate.relations import latest_row
from minga.intel.models import object_groups, objects
from minga.intel.prepare import Item
from minga.intel.stix import TLP_MARKINGS, us_to_ts
from minga.policy import Principal, visible_filter

CHUNK = 500
# What does not make another version: the identity and times of the object, the creator the
# store fills in, its TLP marking (a sharing decision, see `minga.intel.rows`).
NOT_CONTENT = frozenset({"id", "created", "modified", "valid_from", "created_by_ref"})

Key = tuple[str, int]
ValueSet = frozenset[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class Linked:
    """An indicator sent under a new id, stored as (a version of) a known one."""

    sent: str  # the id it was sent with
    id: str  # the indicator of the organisation it became part of
    version: str
    new_version: bool  # False: it said nothing new, nothing was stored
    values: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Known:
    stix_id: str
    pk: int
    modified_us: int
    created: str
    raw: str


def _values(obj: dict[str, Any]) -> ValueSet:
    if obj.get("type") != "indicator" or obj.get("revoked"):
        return frozenset()
    return frozenset((v.kind, v.value) for v in values_of(obj))


def _content(obj: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in obj.items() if k not in NOT_CONTENT}
    refs = [r for r in out.pop("object_marking_refs", None) or () if r not in TLP_MARKINGS]
    if refs:
        out["object_marking_refs"] = refs
    return out


def _known(session: Session, principal: Principal, wanted: set[str]) -> dict[ValueSet, _Known]:
    """The writer's latest indicators naming any of `wanted`, by their whole value set (the
    most recently modified one if several share a set)."""
    pks: dict[int, _Known] = {}
    values = sorted(wanted)
    for i in range(0, len(values), CHUNK):
        rows = session.execute(
            select(
                objects.c.pk, objects.c.stix_id, objects.c.modified_us, objects.c.created,
                objects.c.raw,
            )
            .join(observables, observables.c.object_pk == objects.c.pk)
            .where(
                observables.c.value.in_(values[i : i + CHUNK]),
                objects.c.owner_org_id == principal.org_id,
                objects.c.type == "indicator",
                latest_row(),
                objects.c.revoked == False,  # noqa: E712
            )
        )  # fmt: skip
        for pk, sid, mod_us, created, raw in rows:
            pks[pk] = _Known(sid, pk, mod_us, created, raw)
    if not pks:
        return {}
    sets: dict[int, set[tuple[str, str]]] = {pk: set() for pk in pks}
    keys = sorted(pks)
    for i in range(0, len(keys), CHUNK):
        pairs = session.execute(
            select(observables.c.object_pk, observables.c.kind, observables.c.value).where(
                observables.c.object_pk.in_(keys[i : i + CHUNK])
            )
        )
        for pk, kind, value in pairs:
            sets[pk].add((kind, value))
    found: dict[ValueSet, _Known] = {}
    for pk, known in pks.items():
        key = frozenset(sets[pk])
        if key not in found or found[key].modified_us < known.modified_us:
            found[key] = known
    return found


def link(
    session: Session,
    principal: Principal,
    prepared: dict[Key, Item],
    own_ids: set[str],
) -> tuple[dict[Key, Item], list[Linked], list[tuple[str, str]]]:
    """`prepared` with indicators of known values turned into versions of the known ones (and
    references to them in the batch rewritten); what was linked; the (id, version) pairs that
    turned out to be stored already. `own_ids`: ids the writer already holds."""
    candidates = {
        key: found
        for key, item in prepared.items()
        if key[0] not in own_ids and (found := _values(item.obj))
    }
    if not candidates:
        return prepared, [], []
    known = _known(session, principal, {v for s in candidates.values() for _, v in s})
    renamed: dict[str, str] = {}
    linked: list[Linked] = []
    existing: list[tuple[str, str]] = []
    out: dict[Key, Item] = {}
    first_in_batch: dict[ValueSet, str] = {}
    now = int(datetime.now(UTC).timestamp() * 1000) * 1000  # whole milliseconds
    for key, item in prepared.items():
        values = candidates.get(key)
        if values is None:
            out[key] = item
            continue
        shown = tuple(sorted(v for _, v in values))
        target = known.get(values)
        if target is None:
            # New to the writer; a second item of the same values in this batch joins it.
            if values in first_in_batch and first_in_batch[values] != key[0]:
                renamed[key[0]] = first_in_batch[values]
                version = _version_of(out, first_in_batch[values])
                linked.append(Linked(key[0], first_in_batch[values], version, False, shown))
                existing.append((first_in_batch[values], version))
                continue
            first_in_batch[values] = key[0]
            out[key] = item
            continue
        renamed[key[0]] = target.stix_id
        stored = orjson.loads(target.raw)
        if _content(stored) == _content(item.obj):
            version = stored.get("modified") or target.created
            linked.append(Linked(key[0], target.stix_id, version, False, shown))
            existing.append((target.stix_id, version))
            continue
        mod_us = max(now, target.modified_us + 1000)
        obj = {**item.obj, "id": target.stix_id, "created": target.created}
        obj["modified"] = us_to_ts(mod_us)
        new_key = (target.stix_id, mod_us)
        if new_key in out:  # the known one twice in this batch: the first stays
            continue
        out[new_key] = replace(item, obj=obj)
        linked.append(Linked(key[0], target.stix_id, obj["modified"], True, shown))
        first_in_batch.setdefault(values, target.stix_id)
    if renamed:
        for item in out.values():
            _rename_refs(item.obj, renamed)
    return out, linked, existing


def _version_of(items: dict[Key, Item], stix_id: str) -> str:
    for (sid, _), item in items.items():
        if sid == stix_id:
            return str(item.obj.get("modified") or "")
    return ""


def _rename_refs(obj: dict[str, Any], renamed: dict[str, str]) -> None:
    for prop, value in obj.items():
        if prop.endswith("_ref") and isinstance(value, str) and value in renamed:
            obj[prop] = renamed[value]
        elif prop.endswith("_refs") and isinstance(value, list):
            refs = [renamed.get(r, r) if isinstance(r, str) else r for r in value]
            obj[prop] = list(dict.fromkeys(refs))


def also_reported(
    session: Session, principal: Principal, values: Sequence[str]
) -> dict[str, list[str]]:
    """For each value: the other organisations whose visible latest objects name it."""
    found: dict[str, set[str]] = {}
    orgs = Organisation.__table__
    wanted = sorted(set(values))
    for i in range(0, len(wanted), CHUNK):
        rows = session.execute(
            select(observables.c.value, orgs.c.name)
            .distinct()
            .select_from(
                observables.join(objects, objects.c.pk == observables.c.object_pk).join(
                    orgs, orgs.c.id == objects.c.owner_org_id
                )
            )
            .where(
                observables.c.value.in_(wanted[i : i + CHUNK]),
                objects.c.owner_org_id != principal.org_id,
                latest_row(),
                objects.c.revoked == False,  # noqa: E712
                visible_filter(principal, objects, object_groups),
            )
        )
        for value, name in rows:
            found.setdefault(value, set()).add(name)
    return {v: sorted(names) for v, names in found.items()}


MAX_TOLD = 10_000  # values of one write looked up for "also reported by"


def told(
    session: Session, principal: Principal, objs: Sequence[Any], linked: Sequence[Linked]
) -> dict[str, list[dict[str, Any]]]:
    """What to tell the writer of `objs`: the indicators that were already known (linked to
    its own) and the values other organisations also reported."""
    values: list[str] = []
    for obj in objs:
        if isinstance(obj, dict) and obj.get("type") == "indicator":
            values.extend(v for _, v in _values(obj))
            if len(values) >= MAX_TOLD:
                break
    others = also_reported(session, principal, values[:MAX_TOLD]) if values else {}
    return {
        "already_known": [
            {"sent": k.sent, "id": k.id, "version": k.version, "new_version": k.new_version,
             "values": list(k.values)}
            for k in linked
        ],
        "also_reported": [{"value": v, "by": by} for v, by in sorted(others.items())],
    }  # fmt: skip
