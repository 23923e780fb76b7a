"""Migrations build exactly the schema the models describe, on both backends."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine

from minga.intel.search import include_name, include_object
from minga.models import metadata


def test_migrations_match_the_models(engine: Engine):
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"include_name": include_name, "include_object": include_object}
        )
        diff = compare_metadata(context, metadata)
    assert diff == []
