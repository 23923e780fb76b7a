"""notify: preferences, watch lists, webhooks and their deliveries, e-mail, constituencies

Revision ID: 0024
Revises: 0025
Create Date: 2026-12-02 21:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0025"
branch_labels = None
depends_on = None

BIGPK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "notify_prefs",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("mail_mode", sa.String(length=10), nullable=False),
        sa.Column("last_digest_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_notify_prefs_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_notify_prefs")),
    )
    op.create_table(
        "watches",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("value", sa.String(length=2000), nullable=False),
        sa.Column("value_kind", sa.String(length=16), nullable=False),
        sa.Column("abroad_only", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_watches_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_watches")),
        sa.UniqueConstraint(
            "user_id", "kind", "value_kind", "value", name=op.f("uq_watches_user_id")
        ),
    )
    op.create_index("ix_watches_user", "watches", ["user_id"])
    op.create_table(
        "webhooks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("secret", sa.String(length=100), nullable=False),
        sa.Column("types", sa.String(length=1000), nullable=False),
        sa.Column("max_tlp", sa.String(length=16), nullable=True),
        sa.Column("min_score", sa.Integer(), nullable=True),
        sa.Column("watched_only", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_webhooks_org_id_organisations")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_webhooks_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhooks")),
    )
    op.create_index("ix_webhooks_org", "webhooks", ["org_id"])
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", BIGPK, nullable=False),
        sa.Column("webhook_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("item_key", sa.String(length=200), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["webhook_id"],
            ["webhooks.id"],
            name=op.f("fk_webhook_deliveries_webhook_id_webhooks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
        sa.UniqueConstraint(
            "webhook_id", "seq", "item_key", name=op.f("uq_webhook_deliveries_webhook_id")
        ),
    )
    op.create_index("ix_webhook_deliveries_due", "webhook_deliveries", ["status", "next_at"])
    op.create_table(
        "notify_mail",
        sa.Column("id", BIGPK, nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("mode", sa.String(length=10), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_notify_mail_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notify_mail")),
        sa.UniqueConstraint("user_id", "seq", name=op.f("uq_notify_mail_user_id")),
    )
    op.create_index("ix_notify_mail_status", "notify_mail", ["status", "user_id"])
    op.create_table(
        "constituency_assets",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("value", sa.String(length=300), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisations.id"],
            name=op.f("fk_constituency_assets_org_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_constituency_assets")),
        sa.UniqueConstraint("org_id", "kind", "value", name=op.f("uq_constituency_assets_org_id")),
    )
    op.create_table(
        "constituency_seen",
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("value", sa.String(length=2000), nullable=False),
        sa.Column("period", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("org_id", "period", "value", name=op.f("pk_constituency_seen")),
    )


def downgrade() -> None:
    op.drop_table("constituency_seen")
    op.drop_table("constituency_assets")
    op.drop_index("ix_notify_mail_status", table_name="notify_mail")
    op.drop_table("notify_mail")
    op.drop_index("ix_webhook_deliveries_due", table_name="webhook_deliveries")
    op.drop_table("webhook_deliveries")
    op.drop_index("ix_webhooks_org", table_name="webhooks")
    op.drop_table("webhooks")
    op.drop_index("ix_watches_user", table_name="watches")
    op.drop_table("watches")
    op.drop_table("notify_prefs")
