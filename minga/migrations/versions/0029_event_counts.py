"""event_counts: events seen per kind, kept by the bus consumer behind minga_events_total

Revision ID: 0029
Revises: 0024
Create Date: 2026-12-02 21:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0029"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "event_counts",
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("kind", name=op.f("pk_event_counts")),
    )


def downgrade() -> None:
    op.drop_table("event_counts")
