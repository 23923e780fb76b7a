"""Fixtures for operating a node: a second, empty database of the same backend as `db_url`."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, inspect, text

from minga.intel.search import FTS
from tests.conftest import PG_ADMIN_URL


@pytest.fixture
def other_url(db_url: str, tmp_path: Path) -> Iterator[str]:
    """An empty database (no schema) beside the test's one, of the same kind."""
    if db_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'other.db'}"
        return
    name = f"minga_ops_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def every_row(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table, in a stable order, for comparing two databases."""
    found: dict[str, list[tuple[object, ...]]] = {}
    with engine.connect() as conn:
        for table in sorted(inspect(engine).get_table_names()):
            if table == FTS:  # the text index is contentless: its shadow tables are compared
                continue
            rows = conn.execute(text(f'SELECT * FROM "{table}"')).all()
            found[table] = sorted((tuple(r) for r in rows), key=repr)
    return found
