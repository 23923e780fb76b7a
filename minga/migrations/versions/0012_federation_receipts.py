"""federation: recall receipts held for own objects, and the outbox of receipts to send

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 14:16:18.315537
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "federation_receipts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("stix_id", sa.String(length=128), nullable=False),
        sa.Column("modified", sa.String(length=40), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("node_name", sa.String(length=200), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("signed_at", sa.String(length=40), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("via_peer_id", sa.Integer(), nullable=True),
        sa.Column("key_vouched", sa.Boolean(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["via_peer_id"],
            ["federation_peers.id"],
            name=op.f("fk_federation_receipts_via_peer_id_federation_peers"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_federation_receipts")),
        sa.UniqueConstraint(
            "stix_id", "modified", "state", "fingerprint", name="uq_federation_receipts_version"
        ),
    )
    with op.batch_alter_table("federation_receipts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_federation_receipts_stix_id"), ["stix_id"], unique=False
        )

    op.create_table(
        "federation_receipts_out",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "arrival_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("to_peer_id", sa.Integer(), nullable=False),
        sa.Column("stix_id", sa.String(length=128), nullable=False),
        sa.Column("modified", sa.String(length=40), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("public_key", sa.String(length=64), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["arrival_id"],
            ["federation_arrivals.id"],
            name=op.f("fk_federation_receipts_out_arrival_id_federation_arrivals"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["to_peer_id"],
            ["federation_peers.id"],
            name=op.f("fk_federation_receipts_out_to_peer_id_federation_peers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_federation_receipts_out")),
        sa.UniqueConstraint("arrival_id", name=op.f("uq_federation_receipts_out_arrival_id")),
        sa.UniqueConstraint(
            "to_peer_id",
            "stix_id",
            "modified",
            "state",
            "fingerprint",
            name="uq_federation_receipts_out_version",
        ),
    )
    with op.batch_alter_table("federation_receipts_out", schema=None) as batch_op:
        batch_op.create_index(
            "ix_federation_receipts_out_due", ["status", "next_attempt_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_federation_receipts_out_to_peer_id"), ["to_peer_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("federation_receipts_out", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_federation_receipts_out_to_peer_id"))
        batch_op.drop_index("ix_federation_receipts_out_due")

    op.drop_table("federation_receipts_out")
    with op.batch_alter_table("federation_receipts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_federation_receipts_stix_id"))

    op.drop_table("federation_receipts")
