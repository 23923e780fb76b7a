"""Free-text search behind the storage layer: a trigram index over `search_text`.

PostgreSQL: a pg_trgm GIN index on `search_text`, written with the rows. Asked for a page
(ORDER BY date, LIMIT), PostgreSQL walks the date index testing each row: at once for a common
text, over most of the table for one whose visible matches are few and old (`c2 server 10.3.7`
at 1M objects: ~100 ms). Asking the index for the whole needle is no cure: pg_trgm splits it at
every non-alphanumeric, and its trigrams (`c2`, `server`, `10`, `3`, `7`) are each in most
rows, so the GIN scan reads many long posting lists (~100 ms). So the needle is split into
its pieces (its words of 3 characters or more that have trigrams; every matching row holds
each), the planner's estimate from the column statistics leaves out the pieces in `COMMON`
(25%) of the rows or more, and the others are counted through the index up to `BOUND`
(20,000; `10.3.7`: ~15 ms). When the rarest holds at most `BOUND` rows, those rows are read
once, the whole needle is confirmed on them with the same `LIKE`, and the page's query takes
the confirmed rows by key (`narrow`), with the policy filter, cursor and order it applies to
any page: the results are those of the scan, only found differently. Without such a piece
(a common text), the date walk finds a page at once.

SQLite: an FTS5 table with the trigram tokenizer (`stix_search`, contentless: it holds only
the index). Tokenising costs ~50 µs an object, more than a whole bulk write may take (the
target is 20,000 objects/s), so it is kept up to date *behind* the writes: `catch_up` indexes
the rows after the last one indexed (`minga serve` runs it every few seconds, the migration and
`minga correlate reindex` once), and a search looks in the index for the rows it holds and
scans only the rows written since. A search is therefore exact whatever the index's lag: the
index proposes rows, the same `LIKE` as before confirms them (a stale entry of a deleted row,
whose key SQLite may give to a new row, is confirmed or dropped like any other).
A text found in more than `RARE` rows is common: the newest-first walk finds a page of it at
once, faster than collecting every match first. The walk is one statement, the index joined to
the rows newest first (`newest_matches`; keys grow with date_added on SQLite), which stops at
the page's end; it reads the index rows of the needle's longest piece when that piece is nearly
as rare (`walk_text`: FTS5 reads a long phrase's many common trigrams slowly), the `LIKE`
confirming each. At 1M objects, `c2 server 10.3.7` (2,531 rows, few visible near the top) and
`c2 server` (most rows) took 42 and 57 ms of CPU in chunks of 2,000 keys, ~12 ms so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    Select,
    Table,
    and_,
    any_,
    bindparam,
    column,
    false,
    func,
    literal_column,
    or_,
    select,
    table,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session, sessionmaker

from minga.background import Periodic
from minga.db import Base, unit_of_work
from minga.intel.models import objects

FTS = "stix_search"
RARE = 2000  # matches up to which the index's own list of rows is used (SQLite)
FEW = 250  # SQLite: matches whose keys are read at once, before asking whether a text is common
BOUND = 20_000  # PostgreSQL: rows of a needle's rarest piece up to which they are read by key
COMMON = 0.25  # PostgreSQL: a piece expected in this share of the rows is not looked up
PIECES = 4  # PostgreSQL: pieces of a needle looked at, at most
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


def pattern(needle: str) -> str:
    """The `LIKE` pattern (escape character: backslash) of rows holding `needle`."""
    escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def like(needle: str) -> Any:
    return objects.c.search_text.like(pattern(needle), escape="\\")


@dataclass(frozen=True, slots=True)
class TextMatch:
    """A free-text condition as the index resolved it.

    `narrow`: the condition names its candidate rows by key, so the query should look those
    rows up rather than walk every row in date order testing each (SQLite's planner picks the
    date-ordered walk when it is offered the `is_latest = 1` equality of that index).
    `chunked`: SQLite found the text common; a page is best found by walking the index's own
    rows newest first (`newest_matches`), instead of every stored row.
    """

    condition: Any
    narrow: bool = False
    chunked: bool = False
    walk: str = ""  # `chunked`: the text whose index rows the walk reads (`walk_text`)


def _phrase(needle: str) -> str:
    return '"' + needle.replace('"', '""') + '"'


def text_condition(session: Session, needle: str) -> TextMatch:
    """The WHERE condition of a free-text search for `needle` (lower-case, stripped)."""
    confirm = like(needle)
    if len(needle) < 3:
        return TextMatch(confirm)
    if not _sqlite(session):
        return _postgresql_condition(session, needle, confirm)
    match = text(f"SELECT rowid FROM {FTS} WHERE {FTS} MATCH :q LIMIT :n")
    try:
        # A rare text's keys come in one statement; past the first `FEW`, whether it is common
        # is asked without sending its first `RARE` keys back (a common text's are not used).
        first = min(FEW, RARE)
        found = session.execute(match, {"q": _phrase(needle), "n": first + 1}).scalars().all()
        if len(found) > first:
            beyond = _beyond(session, needle)
            if beyond is not None:
                return TextMatch(confirm, chunked=True, walk=walk_text(session, needle, beyond))
            found = session.execute(match, {"q": _phrase(needle), "n": RARE}).scalars().all()
    except Exception:  # no index (a database made without the migration): scan
        return TextMatch(confirm)
    recent = objects.c.pk > last_indexed(session)
    rows = or_(objects.c.pk.in_(list(found)), recent) if found else recent
    return TextMatch(and_(rows, confirm), narrow=True)


def _beyond(session: Session, needle: str) -> int | None:
    """The key of the index's row after the oldest `RARE` holding `needle`, if there is one
    (whether the text is common, found without sending the keys of its first rows back)."""
    sql = f"SELECT rowid FROM {FTS} WHERE {FTS} MATCH :q LIMIT 1 OFFSET :n"
    found = session.execute(text(sql), {"q": _phrase(needle), "n": RARE}).scalar()
    return None if found is None else int(found)


def walk_text(session: Session, needle: str, beyond: int) -> str:
    """The text whose index rows a walk of the common `needle` reads: its longest piece when
    that is nearly as rare (else the whole needle).

    Every row holding the needle holds its pieces, and the walk confirms each row with the
    needle's `LIKE`, so either text gives the same rows. FTS5 reads a phrase's trigrams
    together, and a needle's many common ones cost it more (newest first, `c2 server 10.3.7`:
    ~24 ms for its 2,531 rows) than a piece's few (`10.3.7`: ~4 ms for 2,541); a row the piece
    proposes and the `LIKE` drops costs the walk ~3 µs. So the piece is taken when its oldest
    `RARE + 1` rows span at least half the keys the needle's do (at most about twice as many
    rows to confirm).
    """
    found = pieces(needle)
    if not found or found[0] == needle:
        return needle
    piece_beyond = _beyond(session, found[0])
    return found[0] if piece_beyond is not None and 2 * piece_beyond >= beyond else needle


# A piece pg_trgm can look up: a run of 3 letters or digits, or two runs with a separator
# between them (the inner run is a whole word: `10.3.7` gives the trigrams of `3`). Without
# one, the index would be read whole.
LOOKUP = re.compile(r"[^\W_]{3}|[^\W_][\W_]+[^\W_]")


def pieces(needle: str) -> list[str]:
    """The parts of `needle` the trigram index can look up alone: its words of 3 characters or
    more (every row holding the needle holds each of them) that have trigrams, longest (likely
    rarest) first, at most `PIECES`."""
    words = {w for w in needle.split() if len(w) >= 3 and LOOKUP.search(w)}
    return sorted(words, key=lambda w: (-len(w), w))[:PIECES]


def _postgresql_condition(session: Session, needle: str, confirm: Any) -> TextMatch:
    """PostgreSQL: the rows holding `needle` by key, found from its rarest piece, or the scan.

    Each piece is counted up to `BOUND` through the trigram index (a piece the planner expects
    in `COMMON` of the rows or more is not even counted: its index entries would cost more
    than they narrow), until one holds at most `RARE`. If the rarest holds at most `BOUND`
    rows, those rows are read once and the whole needle is confirmed on them with the same
    `LIKE`; the page is then made of the confirmed rows by key (policy, cursor and order
    applied by the page's query as always).
    """
    best: tuple[int, list[int]] | None = None
    total = _rows(session)
    for piece in pieces(needle):
        if total > 0 and _estimate(session, piece) >= COMMON * total:
            continue
        inner = (
            select(objects.c.pk, like(needle).label("hit"))
            .where(like(piece))
            .limit(BOUND + 1)
            .subquery()
        )
        stmt = select(func.count(), func.array_agg(inner.c.pk).filter(inner.c.hit))
        seen, hits = session.execute(stmt).one()
        if seen <= BOUND and (best is None or seen < best[0]):
            best = (int(seen), sorted(hits or ()))
        if seen <= RARE:
            break  # few enough: the others would cost more than they could narrow
    if best is None:
        # Common (or no piece to look up): walking the date index finds a page at once.
        return TextMatch(confirm)
    if not best[1]:
        return TextMatch(false(), narrow=True)
    keys = bindparam("text_keys", best[1], type_=ARRAY(BigInteger))
    return TextMatch(objects.c.pk == any_(keys), narrow=True)


def _rows(session: Session) -> float:
    """The planner's row count of the objects table (-1 or 0 before it was ever analysed)."""
    found = session.scalar(
        text("SELECT reltuples FROM pg_class WHERE oid = CAST(:t AS regclass)"),
        {"t": objects.name},
    )
    return float(found or 0)


def _estimate(session: Session, piece: str) -> float:
    """The planner's estimate (from the column's statistics) of the rows holding `piece`."""
    sql = f"SELECT 1 FROM {objects.name} WHERE search_text LIKE :p ESCAPE '\\'"
    plan = session.execute(text(f"EXPLAIN (FORMAT JSON) {sql}"), {"p": pattern(piece)}).scalar_one()
    return float(plan[0]["Plan"]["Plan Rows"])


INDEX_ROWS = table(FTS, column("rowid"))


def newest_matches(stmt: Select[Any], needle: str, upto_pk: int, size: int) -> Select[Any]:
    """`stmt` (rows of `objects`) limited to the SQLite index's rows holding `needle` with keys up
    to `upto_pk`, newest (highest key) first, at most `size`.

    SQLite drives the join from the index, whose rows come in key order: it looks each one up by
    key, tests it with `stmt`'s conditions and stops at the `size`-th that passes, in one
    statement (no chunks of keys sent back and forth, no row tested twice, no sort).
    """
    match = literal_column(FTS).op("MATCH")(bindparam("text_phrase", _phrase(needle)))
    return (
        stmt.join_from(INDEX_ROWS, objects, objects.c.pk == INDEX_ROWS.c.rowid)
        .where(match, INDEX_ROWS.c.rowid <= upto_pk)
        .order_by(INDEX_ROWS.c.rowid.desc())
        .limit(size)
    )


ROUND = 2000  # rows indexed per transaction in the background: writers wait at most that long


def indexer(sessions: sessionmaker[Session], seconds: float) -> Periodic:
    """The background loop of `minga serve` that keeps the SQLite text index caught up."""

    def task() -> None:
        while True:
            with unit_of_work(sessions) as session:
                if catch_up(session, ROUND) < ROUND:
                    return

    return Periodic("search-index", seconds, task)
