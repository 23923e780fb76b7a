"""report ingest: the report's own summary, the TLP its text states, the original file kept

Revision ID: 0021
Revises: 0014
Create Date: 2026-12-02 17:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ingest_drafts") as batch:
        batch.add_column(sa.Column("summary", sa.Text(), server_default="", nullable=False))
        batch.add_column(sa.Column("tlp_hint", sa.String(length=16), nullable=True))
    op.create_table(
        "ingest_report_files",
        sa.Column("draft_id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.String(length=128), nullable=True),
        sa.Column("filename", sa.String(length=300), nullable=False),
        sa.Column("content_type", sa.String(length=200), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["draft_id"],
            ["ingest_drafts.id"],
            name=op.f("fk_ingest_report_files_draft_id_ingest_drafts"),
        ),
        sa.PrimaryKeyConstraint("draft_id", name=op.f("pk_ingest_report_files")),
    )
    op.create_index(
        "ix_ingest_report_files_report", "ingest_report_files", ["report_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_ingest_report_files_report", table_name="ingest_report_files")
    op.drop_table("ingest_report_files")
    with op.batch_alter_table("ingest_drafts") as batch:
        batch.drop_column("tlp_hint")
        batch.drop_column("summary")
