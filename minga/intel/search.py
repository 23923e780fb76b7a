"""Free-text search behind the storage layer: a trigram index over `search_text`.

PostgreSQL: a pg_trgm GIN index on `search_text`, written with the rows. A search first asks
which rows hold the text (the index serves that `LIKE '%...%'`); up to `RARE` of them, the page
is made of those rows, else the newest-first walk finds a page of a common text at once.

SQLite: an FTS5 table with the trigram tokenizer (`stix_search`, contentless: it holds only
the index). Tokenising costs ~50 µs an object, more than a whole bulk write may take (the
target is 20,000 objects/s), so it is kept up to date *behind* the writes: `catch_up` indexes
the rows after the last one indexed (`minga serve` runs it every few seconds, the migration and
`minga correlate reindex` once), and a search looks in the index for the rows it holds and
scans only the rows written since. A search is therefore exact whatever the index's lag: the
index proposes rows, the same `LIKE` as before confirms them (a stale entry of a deleted row,
whose key SQLite may give to a new row, is confirmed or dropped like any other).
A text found in more than `RARE` rows is common: the newest-first walk finds a page of it at
once, faster than collecting every match first.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    Table,
    and_,
    false,
    or_,
    select,
    text,
)
from sqlalchemy.orm import Session, sessionmaker

from minga.background import Periodic
from minga.db import Base, unit_of_work
from minga.intel.models import objects

FTS = "stix_search"
RARE = 2000  # matches up to which the index's own list of rows is used
CATCH_UP_CHUNK = 5000

# How far the SQLite trigram index has got: every row with pk <= last_pk is in it.
search_state = Table(
    "search_state",
    Base.metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("last_pk", BigInteger, nullable=False),
)

# PostgreSQL only (pg_trgm); SQLite has its FTS5 table instead.
TRGM_INDEX = "ix_stix_objects_search_trgm"
Index(
    TRGM_INDEX,
    objects.c.search_text,
    postgresql_using="gin",
    postgresql_ops={"search_text": "gin_trgm_ops"},
).ddl_if(dialect="postgresql")


def is_index_table(name: str | None) -> bool:
    """The FTS5 table and its shadow tables (not described by the models; see migrations)."""
    return bool(name) and (name == FTS or str(name).startswith(FTS + "_"))


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Alembic's filter: the SQLite text index (a virtual table, made by the migration) is not
    part of what the models describe."""
    return not (type_ == "table" and is_index_table(name))


def include_object(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    """Alembic's filter: the PostgreSQL-only trigram index is not missing on SQLite."""
    return not (type_ == "index" and name == TRGM_INDEX and not reflected and compare_to is None)


def create_sqlite_index(conn: Any) -> None:
    conn.exec_driver_sql(
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS} USING fts5("
        "search_text, content='', columnsize=0, tokenize='trigram')"
    )


def _sqlite(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"


def last_indexed(session: Session) -> int:
    found = session.scalar(select(search_state.c.last_pk).where(search_state.c.id == 1))
    return int(found or 0)


def catch_up(session: Session, budget: int | None = None) -> int:
    """Index the rows written since the last call (at most `budget`); the number indexed.
    SQLite only (PostgreSQL's index is written with the rows)."""
    if not _sqlite(session):
        return 0
    return catch_up_connection(session.connection(), budget)


def catch_up_connection(conn: Any, budget: int | None = None) -> int:
    last = int(conn.scalar(select(search_state.c.last_pk).where(search_state.c.id == 1)) or 0)
    done = 0
    while budget is None or done < budget:
        size = CATCH_UP_CHUNK if budget is None else min(CATCH_UP_CHUNK, budget - done)
        rows = conn.execute(
            select(objects.c.pk, objects.c.search_text)
            .where(objects.c.pk > last)
            .order_by(objects.c.pk)
            .limit(size)
        ).all()
        if not rows:
            break
        conn.exec_driver_sql(
            f"INSERT INTO {FTS}(rowid, search_text) VALUES (?, ?)", [tuple(r) for r in rows]
        )
        last = rows[-1][0]
        done += len(rows)
    if done:
        conn.exec_driver_sql(
            "INSERT INTO search_state (id, last_pk) VALUES (1, ?) "
            "ON CONFLICT (id) DO UPDATE SET last_pk = excluded.last_pk",
            (last,),
        )
    return done


def like(needle: str) -> Any:
    escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return objects.c.search_text.like(f"%{escaped}%", escape="\\")


def text_condition(session: Session, needle: str) -> tuple[Any, bool]:
    """The WHERE condition of a free-text search for `needle` (lower-case, stripped), and
    whether it names its few candidate rows by id (then a page is best read from those rows,
    not by walking the date index: `minga.intel.queries` says so to the planner)."""
    confirm = like(needle)
    if len(needle) < 3:
        return confirm, False
    if not _sqlite(session):
        # The trigram index answers "which rows hold it" (a bitmap scan, when the text is
        # rare); asked within the page's ORDER BY and LIMIT, PostgreSQL would rather walk the
        # date index hoping to meet a match soon, over every row when there is none.
        found = session.scalars(select(objects.c.pk).where(confirm).limit(RARE + 1)).all()
        if len(found) > RARE:
            return confirm, False
        return (and_(objects.c.pk.in_(list(found)), confirm), True) if found else (false(), True)
    phrase = '"' + needle.replace('"', '""') + '"'
    try:
        found = (
            session.execute(
                text(f"SELECT rowid FROM {FTS} WHERE {FTS} MATCH :q LIMIT :n"),
                {"q": phrase, "n": RARE + 1},
            )
            .scalars()
            .all()
        )
    except Exception:  # no index (a database made without the migration): scan
        return confirm, False
    if len(found) > RARE:
        return confirm, False
    # Rows the background indexer has not reached yet are confirmed one by one; they join the
    # list of candidates (an `OR pk > last` would keep SQLite on the date index).
    last = last_indexed(session)
    recent = session.scalars(select(objects.c.pk).where(objects.c.pk > last).limit(RARE + 1)).all()
    if len(found) + len(recent) > RARE:
        return and_(or_(objects.c.pk.in_(list(found)), objects.c.pk > last), confirm), False
    wanted = [*found, *recent]
    return (and_(objects.c.pk.in_(wanted), confirm), True) if wanted else (false(), True)


ROUND = 2000  # rows indexed per transaction in the background: writers wait at most that long


def indexer(sessions: sessionmaker[Session], seconds: float) -> Periodic:
    """The background loop of `minga serve` that keeps the SQLite text index caught up."""

    def task() -> None:
        while True:
            with unit_of_work(sessions) as session:
                if catch_up(session, ROUND) < ROUND:
                    return

    return Periodic("search-index", seconds, task)
