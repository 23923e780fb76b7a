"""ingest: report drafts say which reading limits cut the report

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 06:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ingest_drafts") as batch:
        batch.add_column(sa.Column("limits", sa.Text(), nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("ingest_drafts") as batch:
        batch.drop_column("limits")
