"""federation: peers pinned by key fingerprint; organisations of other nodes

Revision ID: 0011
Revises: 0008
Create Date: 2026-12-02 14:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("organisations") as batch:
        batch.add_column(sa.Column("remote_node", sa.String(length=200), nullable=True))
        batch.create_index(batch.f("ix_organisations_remote_node"), ["remote_node"])
    op.create_table(
        "federation_peers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("public_key", sa.String(length=64), nullable=True),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("token_env", sa.String(length=120), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("pull_cursor", sa.String(length=40), nullable=True),
        sa.Column("push_position", sa.BigInteger(), nullable=False),
        sa.Column("last_contact_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_error_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent", sa.Integer(), nullable=False),
        sa.Column("received", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_federation_peers_org_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_federation_peers")),
        sa.UniqueConstraint("fingerprint", name=op.f("uq_federation_peers_fingerprint")),
        sa.UniqueConstraint("name", name=op.f("uq_federation_peers_name")),
    )
    op.create_index(
        op.f("ix_federation_peers_org_id"), "federation_peers", ["org_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_federation_peers_org_id"), table_name="federation_peers")
    op.drop_table("federation_peers")
    with op.batch_alter_table("organisations") as batch:
        batch.drop_index(batch.f("ix_organisations_remote_node"))
        batch.drop_column("remote_node")
