"""REST shapes of the exercise domain. Every answer about an exercise carries its ref as
`x_minga_exercise` (and the `X-Minga-Exercise` header), so nothing read from the exercise space
can pass for real intelligence."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from minga.api.deps import DbId, StrictDbId, UtcDatetime


class ScenarioOut(BaseModel):
    id: int
    key: str
    title: str
    source: str = Field(description="shipped or imported")
    injects: int


class ExerciseIn(BaseModel):
    scenario: str = Field(min_length=1, max_length=80, description="scenario id or key")
    name: str = Field(min_length=1, max_length=300)
    lang: str = Field(default="en", description="es, pt or en: the language of the injects")
    speed: float = Field(default=1.0, description="exercise minutes per real minute, 0.1 to 600")
    teams: list[StrictDbId] = Field(min_length=1, max_length=200, description="organisation ids")
    evaluators: list[StrictDbId] = Field(default_factory=list, max_length=50)
    team_emails: dict[str, str] = Field(
        default_factory=dict, description="organisation id → address that also gets e-mail injects"
    )
    federated: bool = Field(default=False, description="may its content travel to peers")


class TeamScoreOut(BaseModel):
    org_id: int
    name: str
    points: int
    max_points: int
    met: int
    missed: int
    pending: int


class ExerciseOut(BaseModel):
    id: int
    x_minga_exercise: str
    name: str
    scenario_id: int
    lang: str
    status: str
    speed: float
    minute: float = Field(description="the exercise clock, in exercise minutes")
    federated: bool
    started_at: UtcDatetime | None
    ended_at: UtcDatetime | None
    teams: list[TeamScoreOut]


class DeliveryOut(BaseModel):
    id: int
    x_minga_exercise: str
    inject: str
    org_id: int | None
    kind: str
    subject: str
    body: str
    at: UtcDatetime
    minute: float
    incident_id: int | None
    stix_id: str | None
    acknowledged_at: UtcDatetime | None
    answer: str | None
    emailed: bool


class AnswerIn(BaseModel):
    answer: str = Field(min_length=1, max_length=2000)


class ObjectsIn(BaseModel):
    objects: list[dict[str, Any]] = Field(min_length=1, max_length=1000)


class PublishedOut(BaseModel):
    x_minga_exercise: str
    ids: list[str]


class ObjectsOut(BaseModel):
    x_minga_exercise: str
    objects: list[dict[str, Any]]


class EventOut(BaseModel):
    at: UtcDatetime
    minute: float
    org_id: int | None
    kind: str
    text: str


class OutcomeOut(BaseModel):
    id: int
    org_id: int
    inject: str
    expectation: str
    kind: str
    status: str
    points: int
    max_points: int
    decided_by: str
    note: str


class DecisionIn(BaseModel):
    status: str = Field(description="met, missed or pending")
    points: int | None = Field(default=None, ge=0, le=100)
    note: str = Field(default="", max_length=2000)


class LessonsIn(BaseModel):
    answers: dict[str, str] = Field(
        min_length=1, max_length=50, description="question key → answer"
    )


class ActionIn(BaseModel):
    org_id: StrictDbId
    title: str = Field(min_length=1, max_length=300)
    detail: str = Field(default="", max_length=10_000)
    due_on: UtcDatetime | None = None


class ActionPatch(BaseModel):
    status: str = Field(description="open, in-progress or done")


class ActionOut(BaseModel):
    id: int
    exercise_id: int
    org_id: int
    title: str
    detail: str
    status: str
    due_on: UtcDatetime | None
    created_at: UtcDatetime
    closed_at: UtcDatetime | None


ExerciseId = DbId
