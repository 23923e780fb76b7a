"""advisories: public advisories, their revisions, awareness campaigns, public page views

Revision ID: 0014
Revises: 0016
Create Date: 2026-12-02 17:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "advisories",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tracking_id", sa.String(length=64), nullable=False),
        sa.Column("owner_org_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("sectors", sa.String(length=2100), nullable=False),
        sa.Column("langs", sa.String(length=20), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("csaf", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["owner_org_id"],
            ["organisations.id"],
            name=op.f("fk_advisories_owner_org_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_advisories")),
        sa.UniqueConstraint("tracking_id", name=op.f("uq_advisories_tracking_id")),
    )
    op.create_index(op.f("ix_advisories_owner_org_id"), "advisories", ["owner_org_id"])
    op.create_index(op.f("ix_advisories_status"), "advisories", ["status"])
    op.create_index(op.f("ix_advisories_published_at"), "advisories", ["published_at"])
    op.create_table(
        "advisory_revisions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("advisory_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("by_user_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("summary", sa.String(length=500), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["advisory_id"],
            ["advisories.id"],
            name=op.f("fk_advisory_revisions_advisory_id_advisories"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_advisory_revisions")),
        sa.UniqueConstraint(
            "advisory_id", "number", name=op.f("uq_advisory_revisions_advisory_id")
        ),
    )
    op.create_table(
        "awareness_campaigns",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("slug", sa.String(length=80), nullable=False),
        sa.Column("owner_org_id", sa.Integer(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("advisory_ids", sa.Text(), nullable=False),
        sa.Column("published", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_org_id"],
            ["organisations.id"],
            name=op.f("fk_awareness_campaigns_owner_org_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_awareness_campaigns")),
        sa.UniqueConstraint("slug", name=op.f("uq_awareness_campaigns_slug")),
    )
    op.create_index(
        op.f("ix_awareness_campaigns_owner_org_id"), "awareness_campaigns", ["owner_org_id"]
    )
    op.create_table(
        "public_page_views",
        sa.Column("page", sa.String(length=200), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("views", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("page", "day", name=op.f("pk_public_page_views")),
    )


def downgrade() -> None:
    op.drop_table("public_page_views")
    op.drop_index(op.f("ix_awareness_campaigns_owner_org_id"), table_name="awareness_campaigns")
    op.drop_table("awareness_campaigns")
    op.drop_table("advisory_revisions")
    op.drop_index(op.f("ix_advisories_published_at"), table_name="advisories")
    op.drop_index(op.f("ix_advisories_status"), table_name="advisories")
    op.drop_index(op.f("ix_advisories_owner_org_id"), table_name="advisories")
    op.drop_table("advisories")
