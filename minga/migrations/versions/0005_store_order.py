"""intel: commit-ordered positions (one counter row) and one latest version per id

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
    with op.batch_alter_table("stix_objects", schema=None) as batch_op:
        batch_op.create_index(
            "uq_stix_objects_latest",
            ["stix_id"],
            unique=True,
            sqlite_where=sa.text("is_latest"),
            postgresql_where=sa.text("is_latest"),
        )


def downgrade() -> None:
    with op.batch_alter_table("stix_objects", schema=None) as batch_op:
        batch_op.drop_index("uq_stix_objects_latest")
    op.drop_table("stix_positions")
