"""intel: commit-ordered positions, one latest version per id and copy, per-organisation copies

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 11:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

BACKUP = "minga_0005_object_groups"


def upgrade() -> None:
    op.create_table(
        "stix_positions",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stix_positions")),
    )
    op.execute(
        "INSERT INTO stix_positions (id, last_us) "
        "SELECT 1, COALESCE(MAX(added_us), 0) FROM stix_objects"
    )
    # Racing writers may have left an id with no latest version or with two: the newest is it.
    op.execute(
        "UPDATE stix_objects SET is_latest = (modified_us = (SELECT MAX(o.modified_us) "
        "FROM stix_objects o WHERE o.stix_id = stix_objects.stix_id))"
    )
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        # SQLite rebuilds the table to change its unique constraint; dropping the old one
        # cascades to object_groups (foreign keys are on), so those rows are put back after.
        op.execute(f"CREATE TABLE {BACKUP} AS SELECT object_pk, group_id FROM object_groups")
    with op.batch_alter_table("stix_objects", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("has_copies", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.drop_constraint("uq_stix_objects_version", type_="unique")
        batch_op.create_unique_constraint(
            "uq_stix_objects_version", ["stix_id", "owner_org_id", "modified_us"]
        )
        batch_op.create_index(
            "uq_stix_objects_latest",
            ["stix_id", "owner_org_id"],
            unique=True,
            sqlite_where=sa.text("is_latest"),
            postgresql_where=sa.text("is_latest"),
        )
    if sqlite:
        op.execute(
            f"INSERT INTO object_groups (object_pk, group_id) SELECT b.object_pk, b.group_id "
            f"FROM {BACKUP} b WHERE NOT EXISTS (SELECT 1 FROM object_groups g "
            f"WHERE g.object_pk = b.object_pk AND g.group_id = b.group_id)"
        )
        op.execute(f"DROP TABLE {BACKUP}")


def downgrade() -> None:
    """Fails while two organisations hold copies of one version (the old key cannot hold them)."""
    with op.batch_alter_table("stix_objects", schema=None) as batch_op:
        batch_op.drop_index("uq_stix_objects_latest")
        batch_op.drop_constraint("uq_stix_objects_version", type_="unique")
        batch_op.create_unique_constraint("uq_stix_objects_version", ["stix_id", "modified_us"])
        batch_op.drop_column("has_copies")
    op.drop_table("stix_positions")
