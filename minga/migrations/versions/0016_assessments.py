"""assessments: CMM and CSF self-assessments, the risk register, stored situation reports

Revision ID: 0016
Revises: 0013
Create Date: 2026-12-02 17:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "risks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("asset", sa.String(length=300), nullable=False),
        sa.Column("service", sa.String(length=300), nullable=False),
        sa.Column("threat", sa.String(length=500), nullable=False),
        sa.Column("threat_refs", sa.Text(), nullable=False),
        sa.Column("likelihood", sa.Integer(), nullable=False),
        sa.Column("impact", sa.Integer(), nullable=False),
        sa.Column("treatment", sa.String(length=16), nullable=False),
        sa.Column("treatment_plan", sa.Text(), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=False),
        sa.Column("review_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_risks_org_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risks")),
    )
    op.create_index(op.f("ix_risks_org_id"), "risks", ["org_id"], unique=False)
    op.create_index(op.f("ix_risks_review_on"), "risks", ["review_on"], unique=False)
    op.create_table(
        "sitreps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lang", sa.String(length=2), nullable=False),
        sa.Column("period_days", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("html", sa.Text(), nullable=False),
        sa.Column("pdf", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_sitreps_org_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sitreps")),
    )
    op.create_index(op.f("ix_sitreps_created_at"), "sitreps", ["created_at"], unique=False)
    op.create_table(
        "cmm_assessments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("gci", sa.Text(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_cmm_assessments_created_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_cmm_assessments_org_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cmm_assessments")),
        sa.UniqueConstraint("org_id", "year", name=op.f("uq_cmm_assessments_org_id")),
    )
    op.create_index(
        op.f("ix_cmm_assessments_country"), "cmm_assessments", ["country"], unique=False
    )
    op.create_index(op.f("ix_cmm_assessments_org_id"), "cmm_assessments", ["org_id"], unique=False)
    op.create_table(
        "csf_assessments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("share_with_sector", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_csf_assessments_created_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_csf_assessments_org_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_csf_assessments")),
    )
    op.create_index(op.f("ix_csf_assessments_org_id"), "csf_assessments", ["org_id"], unique=False)
    op.create_table(
        "cmm_answers",
        sa.Column("assessment_id", sa.Integer(), nullable=False),
        sa.Column("aspect_key", sa.String(length=16), nullable=False),
        sa.Column("stage", sa.Integer(), nullable=True),
        sa.Column("justification", sa.Text(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["assessment_id"],
            ["cmm_assessments.id"],
            name=op.f("fk_cmm_answers_assessment_id_cmm_assessments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("assessment_id", "aspect_key", name=op.f("pk_cmm_answers")),
    )
    op.create_table(
        "csf_answers",
        sa.Column("assessment_id", sa.Integer(), nullable=False),
        sa.Column("subcategory", sa.String(length=16), nullable=False),
        sa.Column("current", sa.Integer(), nullable=True),
        sa.Column("target", sa.Integer(), nullable=True),
        sa.Column("importance", sa.Integer(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["assessment_id"],
            ["csf_assessments.id"],
            name=op.f("fk_csf_answers_assessment_id_csf_assessments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("assessment_id", "subcategory", name=op.f("pk_csf_answers")),
    )


def downgrade() -> None:
    op.drop_table("csf_answers")
    op.drop_table("cmm_answers")
    op.drop_index(op.f("ix_csf_assessments_org_id"), table_name="csf_assessments")
    op.drop_table("csf_assessments")
    op.drop_index(op.f("ix_cmm_assessments_org_id"), table_name="cmm_assessments")
    op.drop_index(op.f("ix_cmm_assessments_country"), table_name="cmm_assessments")
    op.drop_table("cmm_assessments")
    op.drop_index(op.f("ix_sitreps_created_at"), table_name="sitreps")
    op.drop_table("sitreps")
    op.drop_index(op.f("ix_risks_review_on"), table_name="risks")
    op.drop_index(op.f("ix_risks_org_id"), table_name="risks")
    op.drop_table("risks")
