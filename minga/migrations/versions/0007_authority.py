"""authority: node settings (operator organisation), invitations, collection owners, audit subject

Revision ID: 0007
Revises: 0004
Create Date: 2026-12-02 11:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "node_settings",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_node_settings")),
    )
    op.create_table(
        "invitations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("used_by", sa.Integer(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_invitations_org_id_organisations")
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_invitations_created_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["used_by"], ["users.id"], name=op.f("fk_invitations_used_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invitations")),
        sa.UniqueConstraint("secret_hash", name=op.f("uq_invitations_secret_hash")),
    )
    with op.batch_alter_table("invitations") as batch:
        batch.create_index(batch.f("ix_invitations_org_id"), ["org_id"], unique=False)
    with op.batch_alter_table("taxii_collections") as batch:
        batch.add_column(sa.Column("owner_org_id", sa.Integer(), nullable=True))
        batch.create_index(
            batch.f("ix_taxii_collections_owner_org_id"), ["owner_org_id"], unique=False
        )
        batch.create_foreign_key(
            batch.f("fk_taxii_collections_owner_org_id_organisations"),
            "organisations",
            ["owner_org_id"],
            ["id"],
        )
    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(sa.Column("subject_org_id", sa.Integer(), nullable=True))
        batch.create_index(batch.f("ix_audit_log_subject_org_id"), ["subject_org_id"], unique=False)
    # Existing nodes: the operator is the organisation of the first admin account.
    op.execute(
        "INSERT INTO node_settings (key, value) "
        "SELECT 'operator_org_id', CAST(org_id AS VARCHAR(20)) FROM users "
        "WHERE id = (SELECT MIN(id) FROM users WHERE role = 'admin')"
    )


def downgrade() -> None:
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_index(batch.f("ix_audit_log_subject_org_id"))
        batch.drop_column("subject_org_id")
    with op.batch_alter_table("taxii_collections") as batch:
        batch.drop_constraint(
            batch.f("fk_taxii_collections_owner_org_id_organisations"), type_="foreignkey"
        )
        batch.drop_index(batch.f("ix_taxii_collections_owner_org_id"))
        batch.drop_column("owner_org_id")
    op.drop_table("invitations")
    op.drop_table("node_settings")
