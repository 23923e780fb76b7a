"""Writing the observable index: rows for the object versions the store has just written, in
the same transaction (`minga.intel.service.create_objects` calls `write` after each chunk), and
re-building it for everything stored (`reindex`: the migration and `minga correlate reindex`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import orjson
from sqlalchemy import Connection, delete, func, select
from sqlalchemy.orm import Session

from minga.correlate.index import OBSERVABLE_TYPES, values_of
from minga.correlate.models import observables
from minga.correlate.normalise import Value
from minga.intel.models import objects

KEYS = ("object_pk", "kind", "value", "lo", "hi")
REINDEX_CHUNK = 2000


def rows_for(pairs: Iterable[tuple[int, dict[str, Any]]]) -> list[tuple[Any, ...]]:
    """Index rows (in `KEYS` order) of (object pk, object) pairs."""
    return [(pk, v.kind, v.value, v.lo, v.hi) for pk, obj in pairs for v in values_of(obj)]


def insert_rows(conn: Connection, rows: Sequence[tuple[Any, ...]]) -> None:
    """Driver-level executemany (COPY on PostgreSQL): these are plain str/int values."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        with cursor.copy(f"COPY {observables.name} ({', '.join(KEYS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = (
        f"INSERT INTO {observables.name} ({', '.join(KEYS)}) "
        f"VALUES ({', '.join([mark] * len(KEYS))})"
    )
    conn.exec_driver_sql(sql, list(rows))


def write(
    session: Session,
    written: Sequence[tuple[int, dict[str, Any]]],
    values: Sequence[list[Value] | None] | None = None,
) -> int:
    """Index the versions just written, given as (date_added µs, object): positions are unique
    (`minga.intel.positions`), so one range read over the date index finds their keys.
    `values`: each object's `values_of`, where already known (None: found here).
    Returns the number of index rows written."""
    if values is None:
        values = [None] * len(written)
    found = [
        (added, vals)
        for (added, obj), known in zip(written, values, strict=True)
        if (vals := values_of(obj) if known is None else known)
    ]
    if not found:
        return 0
    first, last = min(a for a, _ in found), max(a for a, _ in found)
    keyed = session.execute(
        select(objects.c.added_us, objects.c.pk).where(
            objects.c.added_us >= first, objects.c.added_us <= last
        )
    )
    pks = {added: pk for added, pk in keyed}
    rows = [(pks[added], v.kind, v.value, v.lo, v.hi) for added, values in found for v in values]
    insert_rows(session.connection(), rows)
    return len(rows)


def write_keyed(session: Session, written: Iterable[tuple[int, dict[str, Any]]]) -> int:
    """Index versions whose keys are known, as (pk, object)."""
    rows = rows_for(written)
    insert_rows(session.connection(), rows)
    return len(rows)


def reindex(conn: Connection) -> int:
    """Re-build the whole index from the stored objects (after a change of the normaliser, or
    for a store that predates the index). Returns the number of index rows."""
    conn.execute(delete(observables))
    total, after = 0, -1
    wanted = objects.c.type.in_(["indicator", *sorted(OBSERVABLE_TYPES)])
    while True:
        batch = conn.execute(
            select(objects.c.pk, objects.c.raw)
            .where(objects.c.pk > after, wanted)
            .order_by(objects.c.pk)
            .limit(REINDEX_CHUNK)
        ).all()
        if not batch:
            return total
        rows = rows_for((pk, orjson.loads(raw)) for pk, raw in batch)
        insert_rows(conn, rows)
        total += len(rows)
        after = batch[-1][0]


def count(conn: Connection) -> int:
    return int(conn.scalar(select(func.count()).select_from(observables)) or 0)
