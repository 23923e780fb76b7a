"""correlate: sightings (counting rows of STIX sighting objects) and indicator scores

Revision ID: 0018
Revises: 0020
Create Date: 2026-12-02 17:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sightings",
        sa.Column("sighting_id", sa.String(length=128), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("sighting_of_ref", sa.String(length=128), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("first_seen_us", sa.BigInteger(), nullable=False),
        sa.Column("last_seen_us", sa.BigInteger(), nullable=False),
        sa.Column("false_positive", sa.Boolean(), nullable=False),
        sa.Column("anonymous", sa.Boolean(), nullable=False),
        sa.Column("observer", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisations.id"],
            name=op.f("fk_sightings_org_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("sighting_id", "org_id", name=op.f("pk_sightings")),
    )
    op.create_index("ix_sightings_sighting_of_ref", "sightings", ["sighting_of_ref"])
    op.create_table(
        "indicator_scores",
        sa.Column("stix_id", sa.String(length=128), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("base", sa.Float(), nullable=False),
        sa.Column("confidence", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(length=16), nullable=False),
        sa.Column("sightings", sa.Integer(), nullable=False),
        sa.Column("false_positives", sa.Integer(), nullable=False),
        sa.Column("organisations", sa.Integer(), nullable=False),
        sa.Column("last_seen_us", sa.BigInteger(), nullable=True),
        sa.Column("valid_until_us", sa.BigInteger(), nullable=False),
        sa.Column("computed_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("stix_id", name=op.f("pk_indicator_scores")),
    )
    op.create_index("ix_indicator_scores_score", "indicator_scores", ["score"])
    op.create_table(
        "score_org_confidence",
        sa.Column("org_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("confidence", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisations.id"],
            name=op.f("fk_score_org_confidence_org_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("org_id", name=op.f("pk_score_org_confidence")),
    )


def downgrade() -> None:
    op.drop_table("score_org_confidence")
    op.drop_index("ix_indicator_scores_score", table_name="indicator_scores")
    op.drop_table("indicator_scores")
    op.drop_index("ix_sightings_sighting_of_ref", table_name="sightings")
    op.drop_table("sightings")
