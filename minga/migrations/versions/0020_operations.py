"""operations: organisations.member (the operator organisation is not a community member);
free-text sectors mapped to the controlled vocabulary

Revision ID: 0020
Revises: 0015
Create Date: 2026-12-02 18:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0015"
branch_labels = None
depends_on = None

DEFAULT_OPERATOR = "Node operator"  # the name `minga init` gave the operator organisation


def upgrade() -> None:
    from minga.accounts.places import UNKNOWN_SECTOR, sector_key

    # A plain ADD COLUMN (with its default) on SQLite too: a batch copy of the table would
    # trip the foreign keys of every table naming an organisation.
    op.add_column(
        "organisations",
        sa.Column("member", sa.Boolean(), server_default=sa.true(), nullable=False),
    )
    conn = op.get_bind()
    orgs = sa.table(
        "organisations",
        sa.column("id", sa.Integer),
        sa.column("name", sa.String),
        sa.column("sector", sa.String),
        sa.column("remote_node", sa.String),
        sa.column("member", sa.Boolean),
    )
    for org_id, sector, remote in conn.execute(
        sa.select(orgs.c.id, orgs.c.sector, orgs.c.remote_node)
    ).all():
        key = sector_key(sector or "") or (UNKNOWN_SECTOR if remote else "other")
        if key != sector:
            conn.execute(orgs.update().where(orgs.c.id == org_id).values(sector=key))
    settings = sa.table("node_settings", sa.column("key", sa.String), sa.column("value", sa.String))
    operator = conn.execute(
        sa.select(settings.c.value).where(settings.c.key == "operator_org_id")
    ).scalar()
    if operator is not None and str(operator).isdigit():
        conn.execute(
            orgs.update()
            .where(orgs.c.id == int(operator), orgs.c.name == DEFAULT_OPERATOR)
            .values(member=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.drop_column("member")
