"""Shared fixtures: every storage test runs on SQLite and, when reachable, on PostgreSQL.

With MINGA_REQUIRE_SERVICES=1 (CI) an unreachable PostgreSQL fails the tests instead of skipping.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from minga.accounts import service as accounts
from minga.app import create_app
from minga.db import make_engine, make_sessionmaker
from minga.migrate import upgrade
from minga.policy import Principal
from minga.settings import Settings

PG_ADMIN_URL = os.environ.get(
    "MINGA_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
REQUIRE_SERVICES = os.environ.get("MINGA_REQUIRE_SERVICES") == "1"
BACKENDS = ["sqlite", "postgresql"]


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`--dist loadgroup`: name each `xdist_group` test's group in its node id, which is how the
    controller keeps a group on one worker. pytest-xdist 3.8 writes it to `item._nodeid`, which
    pytest 9 no longer reads (`item._id`), so every group was spread over the workers: the
    four-node topology built twice, browser modules in parallel. Where xdist's own suffix took
    effect, nothing is done."""
    if not getattr(config.option, "loadgroup", False):
        return
    from _pytest.nodeid import NodeId

    for item in items:
        names = {
            str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
            for mark in item.iter_markers("xdist_group")
        }
        if not names or item.nodeid.rfind("@") > item.nodeid.rfind("]"):
            continue
        grouped = f"{item.nodeid}@{'_'.join(sorted(names))}"
        parsed = NodeId.parse(grouped)
        if str(parsed) == grouped and hasattr(item, "_id"):
            item._id = parsed


def _pg_available() -> str | None:
    try:
        eng = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with eng.connect() as conn:
            conn.execute(text("select 1"))
        eng.dispose()
        return None
    except Exception as exc:  # any failure to connect means "not reachable"
        return str(exc).splitlines()[0]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    problem = _pg_available()
    if problem is not None:
        if REQUIRE_SERVICES:
            pytest.fail(f"PostgreSQL is required (MINGA_REQUIRE_SERVICES=1) but: {problem}")
        pytest.skip(f"PostgreSQL not reachable: {problem}")
    name = f"minga_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _truncate_all(engine: Engine) -> None:
    """Empty every table, then put back the rows the migrations seed."""
    from minga.models import metadata
    from minga.taxii.models import DEFAULT_COLLECTION_ID, Collection

    names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    with Session(engine) as s:
        s.add(
            Collection(
                id=DEFAULT_COLLECTION_ID,
                title="All intelligence",
                description="Every object you may see on this node.",
                alias="all",
                filters="{}",
                can_read=True,
                can_write=True,
                created_at=datetime.now(UTC),
            )
        )
        s.commit()


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        path = tmp_path / "minga.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("pg_database")
    engine = make_engine(url)
    _truncate_all(engine)
    engine.dispose()
    return url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return make_sessionmaker(engine)


@pytest.fixture
def session(sessions: sessionmaker[Session]) -> Iterator[Session]:
    with sessions() as s:
        yield s


@dataclass
class Member:
    """An organisation with one user and a token, for tests."""

    org_id: int
    user_id: int
    token: str
    principal: Principal

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def add_member(
    sessions: sessionmaker[Session], name: str, *, role: str = "analyst", country: str = "CR"
) -> Member:
    with sessions() as s:
        org = accounts.create_organisation(
            s, None, name=name, country=country, sector="government", kind="csirt"
        )
        user = accounts.create_user(
            s, None, org_id=org.id, name=f"{name.lower().replace(' ', '-')}-{role}", role=role
        )
        _, issued = accounts.issue_token(s, None, user_id=user.id)
        principal = accounts.principal_for(s, user)
        s.commit()
    return Member(org.id, user.id, issued.token, principal)


def refresh(sessions: sessionmaker[Session], member: Member) -> Member:
    """The member with its group memberships re-read (after groups change)."""
    with sessions() as s:
        principal = accounts.principal_for(s, accounts.get_user(s, member.user_id))
    return Member(member.org_id, member.user_id, member.token, principal)


@pytest.fixture
def settings(db_url: str) -> Settings:
    # No in-process ingest worker: tests run jobs themselves (one test turns it on).
    return Settings(
        database_url=db_url,
        token_cache_seconds=60,
        ingest_worker_seconds=0,
        federation_receipts_seconds=0,
        search_index_seconds=0,  # tests/intel/test_search.py runs the text indexer itself
        notify_seconds=0,  # tests/events run the notify round themselves
        exercise_tick_seconds=0,  # tests/exercises tick exercises themselves
    )


@pytest.fixture
def client(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    app = create_app(settings, engine=engine)
    with TestClient(app) as c:
        yield c
