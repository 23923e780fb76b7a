"""Migration 0005 on a store that already holds objects: nothing is lost, the counter is seeded
after every stored position, and ids left with no latest version or two are repaired."""

from __future__ import annotations

from alembic import command
from sqlalchemy import Engine, text

from minga.migrate import alembic_config, upgrade
from tests.intel.conftest import NOW, insert_organisation


def _row(pk: int, sid: str, mod_us: int, added_us: int, latest: bool) -> dict[str, object]:
    return {
        "pk": pk, "sid": sid, "mod": "2024-03-01T00:00:00Z", "mod_us": mod_us,
        "added": added_us, "latest": latest, "groups": pk == 1,
    }  # fmt: skip


def test_upgrade_keeps_objects_and_groups_and_repairs_the_latest_flag(fresh: Engine):
    cfg = alembic_config(fresh.url.render_as_string(hide_password=False))
    with fresh.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0004")
    rows = [
        _row(1, "indicator--1", 10, 1_000, True),
        _row(2, "indicator--2", 10, 2_000, True),  # two latest versions of indicator--2
        _row(3, "indicator--2", 20, 3_000, True),
        _row(4, "indicator--3", 10, 4_000, False),  # none of indicator--3
    ]
    with fresh.begin() as conn:
        insert_organisation(conn)
        conn.execute(
            text(
                "INSERT INTO sharing_groups (id, name, description, owner_org_id, created_at) "
                "VALUES (1, 'G', '', 1, :now)"
            ),
            {"now": NOW},
        )
        conn.execute(
            text(
                "INSERT INTO stix_objects (pk, stix_id, type, spec_version, created, modified, "
                "modified_us, added_us, owner_org_id, tlp, reach, has_groups, hop_count, "
                "revoked, is_latest, search_text, raw) VALUES (:pk, :sid, 'indicator', '2.1', "
                ":mod, :mod, :mod_us, :added, 1, 'amber', 'community', :groups, 0, false, "
                ":latest, '', '{}')"
            ),
            rows,
        )
        conn.execute(text("INSERT INTO object_groups (object_pk, group_id) VALUES (1, 1)"))

    upgrade(fresh)

    with fresh.connect() as conn:
        assert conn.execute(text("SELECT object_pk, group_id FROM object_groups")).all() == [(1, 1)]
        stored = conn.execute(
            text("SELECT pk, is_latest, has_copies FROM stix_objects ORDER BY pk")
        ).all()
        assert [(pk, bool(latest), bool(copies)) for pk, latest, copies in stored] == [
            (1, True, False),
            (2, False, False),
            (3, True, False),
            (4, True, False),
        ]
        assert conn.execute(text("SELECT id, last_us FROM stix_positions")).all() == [(1, 4_000)]
