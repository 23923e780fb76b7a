"""Tables of the exercise domain: scenarios, exercises (runs) with their teams and staff, the
injects delivered, expectation outcomes, the timeline, lessons learned, improvement actions.

What an exercise creates elsewhere (incidents, STIX objects) carries its `ref` in an
`exercise` column of that table (and STIX objects in `x_minga_exercise`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from minga.db import Base

STATUSES = ("planned", "running", "paused", "ended")
STAFF_ROLES = ("director", "evaluator")
ACTION_STATUSES = ("open", "in-progress", "done")


class Scenario(Base):
    __tablename__ = "exercise_scenarios"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(300))  # English title, for lists
    doc: Mapped[str] = mapped_column(Text)  # the validated scenario JSON
    source: Mapped[str] = mapped_column(String(20))  # shipped, imported
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Exercise(Base):
    __tablename__ = "exercises"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ref: Mapped[str] = mapped_column(String(64), unique=True)  # the tag on what it creates
    scenario_id: Mapped[int] = mapped_column(ForeignKey("exercise_scenarios.id"), index=True)
    name: Mapped[str] = mapped_column(String(300))
    lang: Mapped[str] = mapped_column(String(2))
    status: Mapped[str] = mapped_column(String(10), default="planned")
    speed: Mapped[float] = mapped_column(Float, default=1.0)
    # Exercise seconds run before `running_since` (the clock adds speed × real time since).
    elapsed_s: Mapped[float] = mapped_column(Float, default=0.0)
    running_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    federated: Mapped[bool] = mapped_column(Boolean, default=False)
    director_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    created_by: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Team(Base):
    """An organisation taking part (its users play)."""

    __tablename__ = "exercise_teams"

    exercise_id: Mapped[int] = mapped_column(
        ForeignKey("exercises.id", ondelete="CASCADE"), primary_key=True
    )
    org_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id"), primary_key=True, index=True
    )
    # Where e-mail injects also go when the node sends mail (they always reach the inbox).
    email: Mapped[str] = mapped_column(String(254), default="")


class Staff(Base):
    """A user directing or evaluating the exercise."""

    __tablename__ = "exercise_staff"

    exercise_id: Mapped[int] = mapped_column(
        ForeignKey("exercises.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True, index=True)
    role: Mapped[str] = mapped_column(String(10))


class Delivery(Base):
    """One inject delivered to one team (or, for a phone-call script, to the director)."""

    __tablename__ = "exercise_deliveries"
    __table_args__ = (Index("ix_exercise_deliveries_run", "exercise_id", "org_id", "inject"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    exercise_id: Mapped[int] = mapped_column(ForeignKey("exercises.id", ondelete="CASCADE"))
    inject: Mapped[str] = mapped_column(String(40))
    org_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), nullable=True)
    kind: Mapped[str] = mapped_column(String(20))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ex_minute: Mapped[float] = mapped_column(Float)
    incident_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    stix_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    answer: Mapped[str | None] = mapped_column(Text, nullable=True)
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    emailed: Mapped[bool] = mapped_column(Boolean, default=False)


class Outcome(Base):
    """An expectation of one inject for one team: pending, met or missed, and its points."""

    __tablename__ = "exercise_outcomes"
    __table_args__ = (Index("ix_exercise_outcomes_run", "exercise_id", "org_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    exercise_id: Mapped[int] = mapped_column(ForeignKey("exercises.id", ondelete="CASCADE"))
    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("exercise_deliveries.id", ondelete="CASCADE")
    )
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    inject: Mapped[str] = mapped_column(String(40))
    expectation: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(20))
    due_minute: Mapped[float | None] = mapped_column(Float, nullable=True)
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending, met, missed
    points: Mapped[int] = mapped_column(Integer, default=0)
    max_points: Mapped[int] = mapped_column(Integer)
    decided_by: Mapped[str] = mapped_column(String(20), default="")  # auto, evaluator
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")


class Event(Base):
    """The exercise timeline: starts, pauses, deliveries, what teams did, scores decided."""

    __tablename__ = "exercise_events"
    __table_args__ = (Index("ix_exercise_events_run", "exercise_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    exercise_id: Mapped[int] = mapped_column(ForeignKey("exercises.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ex_minute: Mapped[float] = mapped_column(Float)
    org_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    kind: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text)


class LessonAnswer(Base):
    """A team's answer to a question of the lessons-learned questionnaire."""

    __tablename__ = "exercise_lessons"

    exercise_id: Mapped[int] = mapped_column(
        ForeignKey("exercises.id", ondelete="CASCADE"), primary_key=True
    )
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), primary_key=True)
    question: Mapped[str] = mapped_column(String(40), primary_key=True)
    answer: Mapped[str] = mapped_column(Text)
    user_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ImprovementAction(Base):
    """An improvement an exercise showed an organisation needs, tracked until done."""

    __tablename__ = "exercise_actions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    exercise_id: Mapped[int] = mapped_column(
        ForeignKey("exercises.id", ondelete="CASCADE"), index=True
    )
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    detail: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(12), default="open")
    due_on: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_by: Mapped[int | None] = mapped_column(Integer, nullable=True)
