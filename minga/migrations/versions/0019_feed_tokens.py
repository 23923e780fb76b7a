"""feeds: tokens for the feed URLs that firewalls and resolvers poll

Revision ID: 0019
Revises: 0017
Create Date: 2026-12-02 17:45:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
# This branch merged corr's 0017 (the observable index the feeds read); the lead re-chains.
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feed_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("secret_hash", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_feed_tokens_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feed_tokens")),
        sa.UniqueConstraint("public_id", name=op.f("uq_feed_tokens_public_id")),
    )
    op.create_index(op.f("ix_feed_tokens_user_id"), "feed_tokens", ["user_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_feed_tokens_user_id"), table_name="feed_tokens")
    op.drop_table("feed_tokens")
