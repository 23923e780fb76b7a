"""What the object store's migration tests share: an empty database on each backend (not the
migrated test template), and the one organisation their old rows belong to."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, create_engine, text

from minga.db import make_engine
from tests.conftest import PG_ADMIN_URL, _pg_available

NOW = datetime(2024, 3, 1, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An empty database (not the migrated test template)."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
        yield engine
        engine.dispose()
        return
    if _pg_available() is not None:
        request.getfixturevalue("pg_database")  # skips, or fails under MINGA_REQUIRE_SERVICES
    name = f"minga_mig_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}")
    yield engine
    engine.dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def insert_organisation(conn: Connection) -> None:
    """Organisation 1, 'A' of CR, as an old schema holds it (raw SQL: no model of today)."""
    conn.execute(
        text(
            "INSERT INTO organisations (id, name, country, sector, kind, identity_ref, "
            "description, created_at) VALUES (1, 'A', 'CR', 'government', 'csirt', "
            "'identity--a', '', :now)"
        ),
        {"now": NOW},
    )
