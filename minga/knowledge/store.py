"""Storing reference data as the node: objects owned by the operator organisation, TLP:CLEAR,
seen by the whole community; look-up entries upserted; the release recorded."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from minga.accounts.models import Organisation
from minga.accounts.node import operator_org_id
from minga.errors import InvalidInput
from minga.intel import quirks
from minga.intel.models import objects
from minga.intel.service import Provenance
from minga.intel.stix import ts_to_us, version_of
from minga.intel.tolerant import store_tolerant
from minga.knowledge.models import Entry, Release
from minga.policy import Principal, Reach, Role, Tlp

MAX_LISTED = 1000  # refused objects listed in a load's outcome (all are counted)


@dataclass(slots=True)
class Loaded:
    """The outcome of loading one source."""

    source: str
    release: str
    objects: int = 0  # objects read
    created: int = 0  # new objects or versions stored
    existing: int = 0  # already stored
    entries: int = 0  # look-up entries written
    repaired: int = 0
    refused: list[dict[str, str]] = field(default_factory=list)
    refused_count: int = 0

    def summary(self) -> str:
        said = (
            f"{self.source} {self.release}: {self.objects} objects, {self.created} new, "
            f"{self.existing} already stored, {self.entries} entries"
        )
        if self.repaired:
            said += f", {self.repaired} repaired"
        if self.refused_count:
            said += f", {self.refused_count} refused"
        return said


def node_principal(session: Session) -> Principal:
    """The node acting for itself: the operator organisation, as a machine."""
    org_id = operator_org_id(session)
    org = session.get(Organisation, org_id) if org_id is not None else None
    if org is None:
        raise InvalidInput("this node has no operator organisation yet: run `minga init` first")
    return Principal(
        user_id=0, org_id=org.id, role=Role.MACHINE, identity_ref=org.identity_ref,
        user_name="node", operator_org=True,
    )  # fmt: skip


def store_objects(
    session: Session, objs: list[dict[str, Any]], outcome: Loaded, source_label: str
) -> None:
    """Repair known quirks and store what can be stored (the store checks each object once);
    the others are counted and listed with their reason."""
    kept: list[dict[str, Any]] = []
    for obj in objs:
        fixed, notes = quirks.repair(obj)
        outcome.repaired += 1 if notes else 0
        kept.append(fixed)
    if not kept:
        return
    result, failures = store_tolerant(
        session,
        node_principal(session),
        kept,
        tlp=Tlp.CLEAR,
        reach=Reach.COMMUNITY,
        provenance=Provenance(source=source_label[:200]),
        enforce_creator=False,
    )
    for i, reason in sorted(failures.items()):
        if _held_in_another_domain(session, kept[i]):
            outcome.existing += 1
            continue
        _refuse(outcome, kept[i], reason)
    outcome.created += len(result.created)
    outcome.existing += len(result.existing)


# ATT&CK ships an object that belongs to several domains (an intrusion set active on
# Enterprise and Mobile) once per domain, with the same id and `modified` and only
# `x_mitre_domains` differing: the version stored from the first domain is that object.
DOMAIN_FIELD = "x_mitre_domains"


def _held_in_another_domain(session: Session, obj: dict[str, Any]) -> bool:
    if not isinstance(obj, dict) or DOMAIN_FIELD not in obj:
        return False
    stored = session.execute(
        select(objects.c.raw).where(
            objects.c.stix_id == obj.get("id"),
            objects.c.modified_us == ts_to_us(version_of(obj)),
            objects.c.owner_org_id == operator_org_id(session),
        )
    ).scalar()
    if stored is None:
        return False
    held = orjson.loads(stored)
    # The store added the spec version (STIX 2.0 files) and the TLP:CLEAR marking.
    added = {DOMAIN_FIELD, "spec_version", "object_marking_refs"}
    marks_kept = set(obj.get("object_marking_refs") or ()) <= set(
        held.get("object_marking_refs") or ()
    )
    return marks_kept and {k: v for k, v in held.items() if k not in added} == {
        k: v for k, v in obj.items() if k not in added
    }


def _refuse(outcome: Loaded, obj: Any, reason: str) -> None:
    outcome.refused_count += 1
    if len(outcome.refused) < MAX_LISTED:
        oid = obj.get("id") if isinstance(obj, dict) else None
        outcome.refused.append({"id": str(oid or "?"), "reason": reason})


def upsert_entries(session: Session, kind: str, entries: dict[str, dict[str, Any]]) -> int:
    """Write entries of one kind by key: {key: {"name", "stix_id", "data"}}; how many."""
    keys = list(entries)
    current: dict[str, Entry] = {}
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        stmt = select(Entry).where(Entry.kind == kind, Entry.key.in_(chunk))
        current.update({e.key: e for e in session.scalars(stmt)})
    for key, value in entries.items():
        data = orjson.dumps(value.get("data", {})).decode()
        name = str(value.get("name") or key)[:500]
        row = current.get(key)
        if row is None:
            session.add(Entry(kind=kind, key=key[:300], name=name, stix_id=value.get("stix_id"),
                              data=data))  # fmt: skip
        else:
            row.name, row.stix_id, row.data = name, value.get("stix_id"), data
    session.flush()
    return len(entries)


def record_release(session: Session, outcome: Loaded, location: str) -> None:
    row = session.get(Release, outcome.source)
    if row is None:
        row = Release(source=outcome.source)
        session.add(row)
    row.release = outcome.release[:200]
    row.location = location[:1000]
    row.loaded_at = datetime.now(UTC)
    row.entries = outcome.entries
    row.stored = outcome.created
    session.flush()
