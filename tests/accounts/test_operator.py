"""The node operator: recorded by `minga init`; on a database from before, the first admin's org."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from sqlalchemy import Engine, text

from minga.accounts.node import operator_org_id
from minga.db import make_sessionmaker
from minga.migrate import alembic_config, upgrade


def test_an_older_database_gets_the_first_admins_organisation_as_operator(engine: Engine):
    # Back to the schema before this rule (the downgrade runs too), with accounts in it.
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0004")
    now = datetime.now(UTC)
    with engine.begin() as conn:
        for org_id, name in ((1, "Hub"), (2, "CSIRT-CR")):
            conn.execute(
                text(
                    "INSERT INTO organisations (id, name, country, sector, kind, identity_ref,"
                    " description, created_at)"
                    " VALUES (:id, :n, 'CR', 'gov', 'csirt', :ref, '', :at)"
                ),
                {"id": org_id, "n": name, "ref": f"identity--{org_id}", "at": now},
            )
        for user_id, org_id, role in ((1, 1, "analyst"), (2, 2, "admin"), (3, 1, "admin")):
            conn.execute(
                text(
                    "INSERT INTO users (id, org_id, name, role, active, created_at)"
                    " VALUES (:id, :org, :n, :role, true, :at)"
                ),
                {"id": user_id, "org": org_id, "n": f"u{user_id}", "role": role, "at": now},
            )
    upgrade(engine)
    with make_sessionmaker(engine)() as s:
        stored = s.scalar(text("SELECT value FROM node_settings WHERE key = 'operator_org_id'"))
        assert (stored, operator_org_id(s)) == ("2", 2)  # the first admin account's organisation
