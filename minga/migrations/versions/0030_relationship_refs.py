"""stix_objects.source_ref/target_ref: a relationship's two ends, indexed, so an object's
relationships are found by index (all of them, not only among the most recent ones)

Revision ID: 0030
Revises: 0028
Create Date: 2026-12-03 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0030"
down_revision = "0028"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("stix_objects") as batch:
        batch.add_column(sa.Column("source_ref", sa.String(length=128), nullable=True))
        batch.add_column(sa.Column("target_ref", sa.String(length=128), nullable=True))
    # Every stored relationship: its ends from its stored JSON (a ref that is not a string,
    # which the store refuses, stays NULL).
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "UPDATE stix_objects SET"
            " source_ref = left(raw::jsonb ->> 'source_ref', 128),"
            " target_ref = left(raw::jsonb ->> 'target_ref', 128)"
            " WHERE type = 'relationship'"
        )
    else:
        op.execute(
            "UPDATE stix_objects SET"
            " source_ref = substr(json_extract(raw, '$.source_ref'), 1, 128),"
            " target_ref = substr(json_extract(raw, '$.target_ref'), 1, 128)"
            " WHERE type = 'relationship'"
        )
    for end in ("source_ref", "target_ref"):
        op.create_index(
            f"ix_stix_objects_{end}",
            "stix_objects",
            [end, "added_us"],
            sqlite_where=sa.text(f"{end} IS NOT NULL"),
            postgresql_where=sa.text(f"{end} IS NOT NULL"),
        )


def downgrade() -> None:
    for end in ("source_ref", "target_ref"):
        op.drop_index(f"ix_stix_objects_{end}", table_name="stix_objects")
    with op.batch_alter_table("stix_objects") as batch:
        batch.drop_column("target_ref")
        batch.drop_column("source_ref")
