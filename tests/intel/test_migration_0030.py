"""Migration 0030 on a store that already holds relationships: their two ends are filled in
from the stored JSON (and nothing else gets any), so their objects' pages find them."""

from __future__ import annotations

import orjson
from alembic import command
from sqlalchemy import Engine, text

from minga.migrate import alembic_config, upgrade
from tests.intel.conftest import insert_organisation

IND = "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"
MAL = "malware--31b940d4-6f7f-459a-80ea-9c1f17b5891b"
REL = "relationship--44298a74-ba52-4f0c-87a3-1824e67d7fad"


def _insert(conn, pk: int, stix_id: str, obj: dict[str, object]) -> None:  # type: ignore[no-untyped-def]
    conn.execute(
        text(
            "INSERT INTO stix_objects (pk, stix_id, type, spec_version, created, modified, "
            "modified_us, added_us, owner_org_id, tlp, reach, has_groups, hop_count, revoked, "
            "is_latest, has_copies, search_text, raw) VALUES (:pk, :sid, :type, '2.1', "
            "'2024-03-01T00:00:00Z', '2024-03-01T00:00:00Z', 10, :pk, 1, 'green', 'community', "
            "false, 0, false, true, false, '', :raw)"
        ),
        {"pk": pk, "sid": stix_id, "type": obj["type"], "raw": orjson.dumps(obj).decode()},
    )


def test_upgrade_fills_the_ends_of_stored_relationships(fresh: Engine):
    cfg = alembic_config(fresh.url.render_as_string(hide_password=False))
    with fresh.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0028")
    with fresh.begin() as conn:
        insert_organisation(conn)
        _insert(conn, 1, IND, {"type": "indicator", "id": IND, "source_ref": MAL})
        _insert(conn, 2, REL, {"type": "relationship", "id": REL, "source_ref": IND,
                               "target_ref": MAL, "relationship_type": "indicates"})  # fmt: skip
    upgrade(fresh)
    with fresh.connect() as conn:
        ends = conn.execute(
            text("SELECT stix_id, source_ref, target_ref FROM stix_objects ORDER BY pk")
        ).all()
        found = conn.execute(
            text("SELECT stix_id FROM stix_objects WHERE target_ref = :m"), {"m": MAL}
        ).all()
    assert [tuple(r) for r in ends] == [(IND, None, None), (REL, IND, MAL)]
    assert [r[0] for r in found] == [REL]
