"""The upgrade path: a database made by an older release's schema (revision 0008, before
federation and knowledge), holding a member, a user and an object, is migrated to head by
the same code `minga serve` runs; the data is still there, still served, and the schema is
exactly what the models describe."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from minga.accounts import service as accounts
from minga.app import create_app
from minga.db import make_engine, make_sessionmaker
from minga.intel.search import include_name, include_object
from minga.intel.stix import ts_to_us
from minga.migrate import alembic_config, upgrade
from minga.models import metadata
from minga.ops.check import database_revision, head_revision
from minga.settings import Settings

OLD = "0008"
IDENTITY = "identity--5e1d0b3a-0000-4a2b-9c3d-0a0b0c0d0e01"
INDICATOR = "indicator--5e1d0b3a-1111-4a2b-9c3d-0a0b0c0d0e01"


def _at_old_revision(engine: Engine) -> None:
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, OLD)


def _fill_as_the_old_release(engine: Engine) -> None:
    now = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    ts = "2025-03-01T12:00:00.000Z"
    raw = {
        "type": "indicator", "spec_version": "2.1", "id": INDICATOR, "created": ts,
        "modified": ts, "name": "Servidor de descarga de Conti", "pattern_type": "stix",
        "pattern": "[ipv4-addr:value = '45.153.160.2']", "valid_from": ts,
        "created_by_ref": IDENTITY,
    }  # fmt: skip
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO organisations (id, name, country, sector, kind, identity_ref,"
                " description, created_at) VALUES (1, 'CSIRT-CR', 'CR', 'gobierno', 'csirt',"
                " :identity, '', :now)"
            ),
            {"identity": IDENTITY, "now": now},
        )
        conn.execute(
            text(
                "INSERT INTO users (id, org_id, name, role, active, created_at)"
                " VALUES (1, 1, 'ana', 'analyst', :yes, :now)"
            ),
            {"yes": True, "now": now},
        )
        conn.execute(
            text(
                "INSERT INTO stix_objects (stix_id, type, spec_version, created, modified,"
                " modified_us, added_us, owner_org_id, tlp, reach, has_groups, hop_count,"
                " revoked, is_latest, search_text, raw, has_copies) VALUES (:id, 'indicator',"
                " '2.1', :ts, :ts, :us, :us, 1, 'green', 'community', :no, 0, :no, :yes,"
                " 'servidor de descarga de conti', :raw, :no)"
            ),
            {
                "id": INDICATOR,
                "ts": ts,
                "us": ts_to_us(ts),
                "no": False,
                "yes": True,
                "raw": orjson.dumps(raw).decode(),
            },
        )


def test_an_older_database_upgrades_with_its_data(db_url: str, other_url: str):
    engine = make_engine(other_url)
    try:
        _at_old_revision(engine)
        assert database_revision(engine) == OLD
        _fill_as_the_old_release(engine)
        upgrade(engine)  # what `minga serve` and `minga init` do first
        assert database_revision(engine) == head_revision()
        with engine.connect() as conn:
            filters = {"include_name": include_name, "include_object": include_object}
            context = MigrationContext.configure(conn, opts=filters)  # as tests/test_migrate.py
            assert compare_metadata(context, metadata) == []
            assert conn.execute(text("SELECT name FROM users")).scalars().all() == ["ana"]
            org = conn.execute(text("SELECT sector, member FROM organisations")).one()
            assert (org.sector, bool(org.member)) == ("government", True)  # was 'gobierno'
        sessions = make_sessionmaker(engine)
        with sessions() as s:
            _, issued = accounts.issue_token(s, None, user_id=1)
            s.commit()
        settings = Settings(database_url=other_url, ingest_worker_seconds=0)
        with TestClient(create_app(settings, engine=engine)) as client:
            got = client.get(
                f"/api/objects/{INDICATOR}", headers={"Authorization": f"Bearer {issued.token}"}
            )
        assert got.status_code == 200, got.text
        assert got.json()["object"]["name"] == "Servidor de descarga de Conti"
    finally:
        engine.dispose()
