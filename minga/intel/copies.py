"""What is already stored of the ids a write names, as the writing organisation may know it.

A write must not tell the writer anything it may not see (the existence oracle): re-sending a
hidden object, versioning one, or sending an observable whose id derives from its value
(`ipv4-addr--uuid5(value)`) must answer exactly as for an id nobody holds.

Design: **per-organisation copies**. The store key of a version is (id, owning organisation,
modified). An organisation that writes an id of which it may see no copy stores its own copy
and gets "created", as for an unknown id; a copy it may see behaves as before (the same version
is "existing" or a conflict, a new version is refused: only the owner versions an object).
Rows of an id that several organisations hold are flagged `has_copies`; list queries keep, of
the copies a reader may see, one per version (the earliest stored, so an incremental reader
never gets the id again) or, for the latest, the newest version (`minga.intel.queries`).

Why copies rather than shared observables with per-organisation holdings: a holding would need
its own TLP, reach and groups and the policy's SQL filter to look through a second table on
every read path; a copy is an ordinary row, so every path keeps using `visible_filter` as it
is, SDOs with colliding ids are handled the same way, and each copy keeps its own markings,
versions, revocation and deletion. The cost is one row per holder and a filter on the few rows
flagged `has_copies`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from minga.intel.models import object_groups, objects
from minga.intel.queries import CHUNK
from minga.policy import Principal, Tlp, visible_filter


@dataclass(slots=True)
class Copy:
    """The writer's own copy of an id."""

    latest_us: int = -1
    latest_tlp: Tlp = Tlp.CLEAR
    versions: set[int] = field(default_factory=set)


@dataclass(slots=True)
class Held:
    """One stored id as the writer knows it."""

    own: Copy | None = None
    seen: set[int] = field(default_factory=set)  # versions of others' copies the writer sees
    others: bool = False  # another organisation holds a copy, seen or not


@contextmanager
def by_id_index(session: Session) -> Iterator[None]:
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


def chunks(values: Sequence[str]) -> Iterable[Sequence[str]]:
    for i in range(0, len(values), CHUNK):
        yield values[i : i + CHUNK]


def held(session: Session, principal: Principal, ids: Iterable[str]) -> dict[str, Held]:
    """Of each stored id: the writer's own copy, the versions of others' copies it may see."""
    found: dict[str, Held] = {}
    visible = visible_filter(principal, objects, object_groups).label("visible")
    with by_id_index(session):
        for chunk in chunks(sorted(ids)):
            rows = session.execute(
                select(
                    objects.c.stix_id,
                    objects.c.modified_us,
                    objects.c.owner_org_id,
                    objects.c.tlp,
                    visible,
                ).where(objects.c.stix_id.in_(chunk))
            )
            for sid, mod_us, owner, tlp, seen in rows:
                h = found.setdefault(sid, Held())
                if owner != principal.org_id:
                    h.others = True
                    if seen:
                        h.seen.add(mod_us)
                    continue
                own = h.own = h.own or Copy()
                own.versions.add(mod_us)
                if mod_us > own.latest_us:
                    own.latest_us, own.latest_tlp = mod_us, Tlp(tlp)
    return found


def stored_content(
    session: Session, principal: Principal, keys: Sequence[tuple[str, int]]
) -> dict[tuple[str, int], dict[str, Any]]:
    """The stored content of the versions `keys` the writer may see (its own copy first)."""
    wanted = set(keys)
    found: dict[tuple[str, int], dict[str, Any]] = {}
    with by_id_index(session):
        for chunk in chunks(sorted({k[0] for k in wanted})):
            rows = session.execute(
                select(objects.c.stix_id, objects.c.modified_us, objects.c.raw)
                .where(
                    objects.c.stix_id.in_(chunk), visible_filter(principal, objects, object_groups)
                )
                .order_by((objects.c.owner_org_id == principal.org_id).desc())
            )
            for sid, mod_us, raw in rows:
                if (sid, mod_us) in wanted and (sid, mod_us) not in found:
                    found[(sid, mod_us)] = orjson.loads(raw)
    return found
