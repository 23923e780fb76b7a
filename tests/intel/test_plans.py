"""Look-ups by id go through an index on stix_id on both backends, whatever the store's size.

The plan is what keeps them flat from 10k to 1M objects (SQLite once walked the date-ordered
is_latest index for a TAXII get-by-id: 617 ms at 1M), so the test reads the plan of the very
statements the services run (EXPLAIN) instead of timing them. SQLite runs without statistics,
as a store does until something ANALYZEs it; PostgreSQL is analyzed, as autovacuum keeps it,
and its sequential scans are off: a table of a few hundred rows is cheapest to read whole, and
the question is which index is used.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.orm import Session, sessionmaker

from minga import audit
from minga.intel import search
from minga.intel import service as intel
from minga.intel.queries import ObjectQuery
from minga.policy import Tlp
from minga.taxii import service as taxii
from minga.taxii.models import DEFAULT_COLLECTION_ID
from minga.taxii.params import parse_params
from tests.conftest import add_member
from tests.factories import indicator

ID_INDEXES = {
    "uq_stix_objects_latest",
    "uq_stix_objects_version",
    "sqlite_autoindex_stix_objects_1",
}
INDEX_RE = re.compile(
    r"USING (?:COVERING )?INDEX (\w+)"  # SQLite
    r"|Index (?:Only )?Scan (?:Backward )?using (\w+)|Bitmap Index Scan on (\w+)"  # PostgreSQL
)


@contextmanager
def captured(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    """The (statement, parameters) the driver is given inside the block."""
    seen: list[tuple[str, Any]] = []

    def grab(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", grab)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", grab)


def plan(engine: Engine, statement: str, parameters: Any) -> str:
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE stix_objects")  # as autovacuum keeps it
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
            rows = conn.exec_driver_sql("EXPLAIN " + statement, parameters).all()
            return "\n".join(r[0] for r in rows)
        rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
        return "\n".join(r[-1] for r in rows)


def indexes(text: str) -> set[str]:
    """The indexes of the object store the plan uses."""
    found = {name for m in INDEX_RE.finditer(text) for name in m.groups() if name}
    return {name for name in found if "stix_objects" in name}


def plans_of(engine: Engine, run: Callable[[], Any], table_sql: str) -> list[str]:
    """The plans of the statements `run` sends that read or change `table_sql`."""
    with captured(engine) as seen:
        run()
    wanted = [(s, p) for s, p in seen if table_sql in s]
    assert wanted, f"no statement like {table_sql!r} was sent"
    return [plan(engine, s, p) for s, p in wanted]


def assert_by_id(found: list[str]) -> None:
    for text in found:
        used = indexes(text)
        assert used and used <= ID_INDEXES, text
        assert not re.search(r"\bSCAN stix_objects\b|Seq Scan on stix_objects", text), text


def test_taxii_and_rest_lookups_by_id_use_the_id_index(
    engine: Engine, sessions: sessionmaker[Session]
):
    owner, reader = add_member(sessions, "Owner CSIRT"), add_member(sessions, "Reader ISAC")
    with sessions() as s:
        intel.create_objects(
            s, owner.principal, [indicator(n) for n in range(1, 301)], tlp=Tlp.GREEN
        )
        later = indicator(7, modified="2024-03-02T12:00:00.000Z")
        intel.create_objects(s, owner.principal, [later], tlp=Tlp.GREEN)
        s.commit()
    wanted, other = indicator(7)["id"], indicator(8)["id"]
    ordered = "ORDER BY stix_objects.added_us"

    def page(args: dict[str, list[str]], stix_id: str | None = wanted) -> Callable[[], Any]:
        def run() -> None:
            with sessions() as s:
                found = taxii.get_collection(s, DEFAULT_COLLECTION_ID)
                params = parse_params(args, default_limit=100, max_limit=1000)
                assert taxii.page(s, reader.principal, found, params, stix_id=stix_id).items

        return run

    # Object by id (the latest version), its versions, the first version, a manifest by id.
    assert_by_id(plans_of(engine, page({}), ordered))
    assert_by_id(plans_of(engine, page({"match[version]": ["all"]}), ordered))
    assert_by_id(plans_of(engine, page({"match[version]": ["first"]}), ordered))
    assert_by_id(plans_of(engine, page({"match[type]": ["indicator"]}), ordered))
    assert_by_id(plans_of(engine, page({"match[id]": [f"{wanted},{other}"]}, None), ordered))

    def rest() -> None:
        with sessions() as s:
            assert intel.get_object(s, reader.principal, wanted).version == later["modified"]

    assert_by_id(plans_of(engine, rest, "ORDER BY stix_objects.modified_us"))


def test_a_new_version_retires_the_old_one_through_the_id_index(
    engine: Engine, sessions: sessionmaker[Session]
):
    owner = add_member(sessions, "Owner CSIRT")
    with sessions() as s:
        intel.create_objects(
            s, owner.principal, [indicator(n) for n in range(1, 301)], tlp=Tlp.GREEN
        )
        s.commit()

    def new_version() -> None:
        with sessions() as s:
            later = indicator(9, modified="2024-03-02T12:00:00.000Z")
            assert intel.create_objects(s, owner.principal, [later], tlp=Tlp.GREEN).created
            s.commit()

    found = plans_of(engine, new_version, "SET is_latest")
    assert_by_id(found)
    with sessions() as s:
        rows = intel.versions(s, owner.principal, indicator(9)["id"])
        assert [r.is_latest for r in rows] == [False, True]


def test_the_audit_log_checks_object_events_through_the_id_index(
    engine: Engine, sessions: sessionmaker[Session]
):
    owner, reader = add_member(sessions, "Owner CSIRT"), add_member(sessions, "Reader ISAC")
    with sessions() as s:
        intel.create_objects(
            s, owner.principal, [indicator(n) for n in range(1, 301)], tlp=Tlp.GREEN
        )
        intel.create_objects(s, owner.principal, [indicator(301)], tlp=Tlp.GREEN)
        s.commit()

    def read() -> None:
        with sessions() as s:
            seen = audit.recent(s, reader.principal)
            assert indicator(301)["id"] in [e.target_id for e in seen]

    assert_by_id(plans_of(engine, read, "FROM audit_log"))


def test_a_rare_term_page_reads_its_few_rows_not_the_date_index(
    engine: Engine, sessions: sessionmaker[Session]
):
    owner, reader = add_member(sessions, "Owner CSIRT"), add_member(sessions, "Reader ISAC")
    items = [indicator(n) for n in range(1, 301)]
    items[41]["description"] = "Seen once near zqrareterm"
    with sessions() as s:
        intel.create_objects(s, owner.principal, items, tlp=Tlp.GREEN)
        search.catch_up(s)
        # One more written after the index caught up: a candidate by its row id.
        later = indicator(301, description="zqrareterm again, not yet indexed")
        intel.create_objects(s, owner.principal, [later], tlp=Tlp.GREEN)
        s.commit()

    def run() -> None:
        with sessions() as s:
            q = ObjectQuery(text="zqrareterm")
            found = intel.list_objects(s, reader.principal, q, limit=100)
            assert sorted(i.stix_id for i in found.items) == sorted([items[41]["id"], later["id"]])

    for text in plans_of(engine, run, "ORDER BY +stix_objects.added_us"):
        # By row id (the primary key), never a walk of the date-ordered latest index, which
        # tested every latest row for the term (seconds at 1M objects).
        assert "latest_added" not in text, text
        assert not re.search(r"\bSCAN stix_objects\b|Seq Scan on stix_objects", text), text
        assert re.search(r"INTEGER PRIMARY KEY|pk_stix_objects", text), text
