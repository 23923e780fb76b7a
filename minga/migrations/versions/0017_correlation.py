"""correlate: the observable index (back-filled from the stored objects), correlation
exclusions and imported warninglists

Revision ID: 0017
Revises: 0013
Create Date: 2026-12-02 17:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0013"
branch_labels = None
depends_on = None

PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "observables",
        sa.Column("object_pk", PK, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=2000), nullable=False),
        sa.Column("lo", sa.String(length=256), nullable=True),
        sa.Column("hi", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(
            ["object_pk"],
            ["stix_objects.pk"],
            name=op.f("fk_observables_object_pk_stix_objects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("object_pk", "kind", "value", name="pk_observables"),
    )
    op.create_index("ix_observables_value", "observables", ["value"])
    op.create_index(
        "ix_observables_range",
        "observables",
        ["kind", "lo"],
        sqlite_where=sa.text("lo IS NOT NULL"),
        postgresql_where=sa.text("lo IS NOT NULL"),
    )
    op.create_table(
        "correlation_exclusions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=2000), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_correlation_exclusions")),
        sa.UniqueConstraint("kind", "value", name="uq_correlation_exclusions_kind"),
    )
    op.create_table(
        "warninglists",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("list_type", sa.String(length=16), nullable=False),
        sa.Column("matching", sa.Text(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_warninglists")),
        sa.UniqueConstraint("name", name=op.f("uq_warninglists_name")),
    )
    op.create_table(
        "warninglist_entries",
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.Column("value", sa.String(length=2000), nullable=False),
        sa.ForeignKeyConstraint(
            ["list_id"],
            ["warninglists.id"],
            name=op.f("fk_warninglist_entries_list_id_warninglists"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("list_id", "value", name="pk_warninglist_entries"),
    )
    op.create_index("ix_warninglist_entries_value", "warninglist_entries", ["value"])
    # Objects stored before the index existed get their rows now (the same code as a write).
    from minga.correlate.store import reindex

    reindex(op.get_bind())


def downgrade() -> None:
    op.drop_index("ix_warninglist_entries_value", table_name="warninglist_entries")
    op.drop_table("warninglist_entries")
    op.drop_table("warninglists")
    op.drop_table("correlation_exclusions")
    op.drop_index("ix_observables_range", table_name="observables")
    op.drop_index("ix_observables_value", table_name="observables")
    op.drop_table("observables")
