"""Engines and sessions. SQLite (WAL) is the embedded default, PostgreSQL the scale backend."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, MetaData, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

if TYPE_CHECKING:
    from minga.settings import Settings

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


WAL_CHECKPOINT_PAGES = 50_000  # ~200 MB of 4 KiB pages between automatic checkpoints
WAL_KEEP_BYTES = 64 * 2**20  # the WAL file is truncated to this after a checkpoint


def _sqlite_pragmas(cache_kib: int) -> Any:
    def on_connect(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=10000")
        cur.execute(f"PRAGMA cache_size=-{cache_kib}")  # this connection's share of the budget
        # Fewer, larger checkpoints: a bulk write dirties pages all over the random-key indexes
        # (ids, observable values, scores), and a page rewritten by many commits between two
        # checkpoints is copied into the database once. The WAL is cut back to
        # `journal_size_limit` after each checkpoint, so it does not stay at its peak size.
        cur.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")
        cur.execute(f"PRAGMA journal_size_limit={WAL_KEEP_BYTES}")
        cur.execute("PRAGMA temp_store=MEMORY")
        # Keep planner statistics fresh (cheaply): without them SQLite walks the wrong index for
        # id look-ups once the store is large.
        cur.execute("PRAGMA analysis_limit=1000")
        cur.execute("PRAGMA optimize=0x10002")
        cur.close()

    return on_connect


def cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def memory_mb() -> int:
    """The machine's memory in MB (4 GB if it cannot be read)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
    except (AttributeError, ValueError, OSError):
        return 4096


def pool_size(url: str, wanted: int = 0, workers: int = 1) -> int:
    """Connections a process keeps: `wanted`, else 4 on SQLite (one writer; reads are short),
    else 40 shared by the workers, 2 to 10 each (PostgreSQL allows 100 by default)."""
    if wanted:
        return wanted
    if url.startswith("sqlite"):
        return 4
    return max(2, min(10, 40 // max(1, workers)))


def sqlite_cache_mb(wanted: int = 0) -> int:
    """The SQLite page-cache budget of a process: `wanted`, else 1/64 of memory, 16 to 128 MB."""
    return wanted or max(16, min(128, memory_mb() // 64))


def make_engine(url: str, *, pool: int = 0, workers: int = 1, cache_mb: int = 0) -> Engine:
    """An engine for `url`, with SQLite tuned for one writer and parallel readers.

    A process keeps `pool_size` connections and opens as many again in a burst; on SQLite the
    page-cache budget is shared out among all of them (each connection has its own cache)."""
    size = pool_size(url, pool, workers)
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1] if "///" in url else ""
        pooled: dict[str, int] = {}  # an in-memory database lives in its one connection
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            pooled = {"pool_size": size, "max_overflow": size}
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 10}, **pooled
        )
        cache_kib = max(1024, sqlite_cache_mb(cache_mb) * 1024 // (2 * size))
        event.listen(engine, "connect", _sqlite_pragmas(cache_kib))
        return engine
    # JIT compilation costs more than these short index queries ever take.
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=size,
        max_overflow=size,
        connect_args={"options": "-c jit=off"},
    )


def engine_for(settings: Settings) -> Engine:
    """The engine of a node process, sized by its settings."""
    return make_engine(
        settings.database_url,
        pool=settings.db_pool_size,
        workers=settings.workers or cores(),
        cache_mb=settings.sqlite_cache_mb,
    )


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session that commits when the block ends and rolls back if it raises."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
