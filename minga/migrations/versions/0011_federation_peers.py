"""federation: peers pinned by key fingerprint, vouched keys, arrivals; remote organisations

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
    op.create_table(
        "federation_known_keys",
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("node_name", sa.String(length=200), nullable=False),
        sa.Column("public_key", sa.String(length=64), nullable=False),
        sa.Column("vouched_by_peer_id", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["vouched_by_peer_id"],
            ["federation_peers.id"],
            name=op.f("fk_federation_known_keys_vouched_by_peer_id_federation_peers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("fingerprint", name=op.f("pk_federation_known_keys")),
    )
    op.create_index(
        op.f("ix_federation_known_keys_node_name"), "federation_known_keys", ["node_name"]
    )
    op.create_index(
        op.f("ix_federation_known_keys_vouched_by_peer_id"),
        "federation_known_keys",
        ["vouched_by_peer_id"],
    )
    op.create_table(
        "federation_arrivals",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("stix_id", sa.String(length=128), nullable=False),
        sa.Column("modified", sa.String(length=40), nullable=False),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.Column("origin_node", sa.String(length=200), nullable=False),
        sa.Column("origin_key", sa.String(length=64), nullable=False),
        sa.Column("hop_count", sa.Integer(), nullable=False),
        sa.Column("from_peer_id", sa.Integer(), nullable=False),
        sa.Column("arrived_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["from_peer_id"],
            ["federation_peers.id"],
            name=op.f("fk_federation_arrivals_from_peer_id_federation_peers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_federation_arrivals")),
    )
    op.create_index(op.f("ix_federation_arrivals_stix_id"), "federation_arrivals", ["stix_id"])
    op.create_index(
        op.f("ix_federation_arrivals_from_peer_id"), "federation_arrivals", ["from_peer_id"]
    )


def downgrade() -> None:
    op.drop_table("federation_arrivals")
    op.drop_table("federation_known_keys")
    op.drop_index(op.f("ix_federation_peers_org_id"), table_name="federation_peers")
    op.drop_table("federation_peers")
    with op.batch_alter_table("organisations") as batch:
        batch.drop_index(batch.f("ix_organisations_remote_node"))
        batch.drop_column("remote_node")
