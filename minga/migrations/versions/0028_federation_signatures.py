"""federation: this node's signatures of its own versions, kept once made

Revision ID: 0028
Revises: 0029
Create Date: 2026-12-02 21:15:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0028"
down_revision = "0029"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "federation_signatures",
        sa.Column(
            "object_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("origin_key", sa.String(length=64), nullable=False),
        sa.Column("terms", sa.Text(), nullable=False),
        sa.Column("signature", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["object_pk"],
            ["stix_objects.pk"],
            name=op.f("fk_federation_signatures_object_pk_stix_objects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("object_pk", name=op.f("pk_federation_signatures")),
    )


def downgrade() -> None:
    op.drop_table("federation_signatures")
