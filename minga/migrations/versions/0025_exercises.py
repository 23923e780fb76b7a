"""exercises: scenarios, runs, injects delivered, expectation outcomes, lessons, actions; the
`exercise` tag column on incidents and stix_objects

Revision ID: 0025
Revises: 0026
Create Date: 2026-12-02 20:39:27.332267
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "exercise_scenarios",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("doc", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exercise_scenarios")),
        sa.UniqueConstraint("key", name=op.f("uq_exercise_scenarios_key")),
    )
    op.create_table(
        "exercises",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ref", sa.String(length=64), nullable=False),
        sa.Column("scenario_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("lang", sa.String(length=2), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("speed", sa.Float(), nullable=False),
        sa.Column("elapsed_s", sa.Float(), nullable=False),
        sa.Column("running_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("federated", sa.Boolean(), nullable=False),
        sa.Column("director_org_id", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["director_org_id"],
            ["organisations.id"],
            name=op.f("fk_exercises_director_org_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["scenario_id"],
            ["exercise_scenarios.id"],
            name=op.f("fk_exercises_scenario_id_exercise_scenarios"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exercises")),
        sa.UniqueConstraint("ref", name=op.f("uq_exercises_ref")),
    )
    with op.batch_alter_table("exercises", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_exercises_scenario_id"), ["scenario_id"], unique=False)

    op.create_table(
        "exercise_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("exercise_id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("due_on", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["exercise_id"],
            ["exercises.id"],
            name=op.f("fk_exercise_actions_exercise_id_exercises"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_exercise_actions_org_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exercise_actions")),
    )
    with op.batch_alter_table("exercise_actions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_exercise_actions_exercise_id"), ["exercise_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_exercise_actions_org_id"), ["org_id"], unique=False)

    op.create_table(
        "exercise_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("exercise_id", sa.Integer(), nullable=False),
        sa.Column("inject", sa.String(length=40), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ex_minute", sa.Float(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("stix_id", sa.String(length=128), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("emailed", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["exercise_id"],
            ["exercises.id"],
            name=op.f("fk_exercise_deliveries_exercise_id_exercises"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisations.id"],
            name=op.f("fk_exercise_deliveries_org_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exercise_deliveries")),
    )
    with op.batch_alter_table("exercise_deliveries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_exercise_deliveries_run", ["exercise_id", "org_id", "inject"], unique=False
        )

    op.create_table(
        "exercise_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("exercise_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ex_minute", sa.Float(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["exercise_id"],
            ["exercises.id"],
            name=op.f("fk_exercise_events_exercise_id_exercises"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exercise_events")),
    )
    with op.batch_alter_table("exercise_events", schema=None) as batch_op:
        batch_op.create_index("ix_exercise_events_run", ["exercise_id", "at"], unique=False)

    op.create_table(
        "exercise_lessons",
        sa.Column("exercise_id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("question", sa.String(length=40), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["exercise_id"],
            ["exercises.id"],
            name=op.f("fk_exercise_lessons_exercise_id_exercises"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_exercise_lessons_org_id_organisations")
        ),
        sa.PrimaryKeyConstraint(
            "exercise_id", "org_id", "question", name=op.f("pk_exercise_lessons")
        ),
    )
    op.create_table(
        "exercise_staff",
        sa.Column("exercise_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=10), nullable=False),
        sa.ForeignKeyConstraint(
            ["exercise_id"],
            ["exercises.id"],
            name=op.f("fk_exercise_staff_exercise_id_exercises"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_exercise_staff_user_id_users")
        ),
        sa.PrimaryKeyConstraint("exercise_id", "user_id", name=op.f("pk_exercise_staff")),
    )
    with op.batch_alter_table("exercise_staff", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_exercise_staff_user_id"), ["user_id"], unique=False)

    op.create_table(
        "exercise_teams",
        sa.Column("exercise_id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.ForeignKeyConstraint(
            ["exercise_id"],
            ["exercises.id"],
            name=op.f("fk_exercise_teams_exercise_id_exercises"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_exercise_teams_org_id_organisations")
        ),
        sa.PrimaryKeyConstraint("exercise_id", "org_id", name=op.f("pk_exercise_teams")),
    )
    with op.batch_alter_table("exercise_teams", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_exercise_teams_org_id"), ["org_id"], unique=False)

    op.create_table(
        "exercise_outcomes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("exercise_id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("inject", sa.String(length=40), nullable=False),
        sa.Column("expectation", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("due_minute", sa.Float(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("max_points", sa.Integer(), nullable=False),
        sa.Column("decided_by", sa.String(length=20), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["exercise_deliveries.id"],
            name=op.f("fk_exercise_outcomes_delivery_id_exercise_deliveries"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["exercise_id"],
            ["exercises.id"],
            name=op.f("fk_exercise_outcomes_exercise_id_exercises"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_exercise_outcomes_org_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exercise_outcomes")),
    )
    with op.batch_alter_table("exercise_outcomes", schema=None) as batch_op:
        batch_op.create_index("ix_exercise_outcomes_run", ["exercise_id", "org_id"], unique=False)

    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("exercise", sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_incidents_exercise"), ["exercise"], unique=False)

    with op.batch_alter_table("stix_objects", schema=None) as batch_op:
        batch_op.add_column(sa.Column("exercise", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("stix_objects", schema=None) as batch_op:
        batch_op.drop_column("exercise")

    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incidents_exercise"))
        batch_op.drop_column("exercise")

    with op.batch_alter_table("exercise_outcomes", schema=None) as batch_op:
        batch_op.drop_index("ix_exercise_outcomes_run")

    op.drop_table("exercise_outcomes")
    with op.batch_alter_table("exercise_teams", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_exercise_teams_org_id"))

    op.drop_table("exercise_teams")
    with op.batch_alter_table("exercise_staff", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_exercise_staff_user_id"))

    op.drop_table("exercise_staff")
    op.drop_table("exercise_lessons")
    with op.batch_alter_table("exercise_events", schema=None) as batch_op:
        batch_op.drop_index("ix_exercise_events_run")

    op.drop_table("exercise_events")
    with op.batch_alter_table("exercise_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_exercise_deliveries_run")

    op.drop_table("exercise_deliveries")
    with op.batch_alter_table("exercise_actions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_exercise_actions_org_id"))
        batch_op.drop_index(batch_op.f("ix_exercise_actions_exercise_id"))

    op.drop_table("exercise_actions")
    with op.batch_alter_table("exercises", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_exercises_scenario_id"))

    op.drop_table("exercises")
    op.drop_table("exercise_scenarios")
