"""knowledge: releases loaded and look-up entries (ATT&CK, KEV, MISP taxonomies)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 14:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "knowledge_releases",
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("release", sa.String(length=200), nullable=False),
        sa.Column("location", sa.String(length=1000), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.Column("stored", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("source", name=op.f("pk_knowledge_releases")),
    )
    op.create_table(
        "knowledge_entries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("stix_id", sa.String(length=300), nullable=True),
        sa.Column("data", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_knowledge_entries")),
        sa.UniqueConstraint("kind", "key", name=op.f("uq_knowledge_entries_kind")),
    )


def downgrade() -> None:
    op.drop_table("knowledge_entries")
    op.drop_table("knowledge_releases")
