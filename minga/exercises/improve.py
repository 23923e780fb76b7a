"""After the exercise: each team's answers to the lessons-learned questionnaire, and the
improvement actions the director assigns to organisations, tracked until done."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from minga import audit
from minga.accounts.models import Organisation
from minga.errors import Forbidden, InvalidInput, NotFound
from minga.exercises import scenario as fmt
from minga.exercises.models import ACTION_STATUSES, Exercise, ImprovementAction, LessonAnswer
from minga.exercises.service import directed, doc_of, event, get_exercise, get_scenario, marking
from minga.policy import (
    Principal,
    may_play_exercise,
    may_see_improvement,
    may_update_improvement,
)


def questions(session: Session, ex: Exercise) -> list[tuple[str, str]]:
    doc = doc_of(get_scenario(session, ex.scenario_id))
    return [(q["key"], fmt.text(q["text"], ex.lang)) for q in doc.get("questionnaire", [])]


def answer_lessons(
    session: Session, principal: Principal, exercise_id: int, answers: dict[str, str],
    *, at: datetime,
) -> list[LessonAnswer]:  # fmt: skip
    """A team answers (or re-answers) the questionnaire, during or after the exercise."""
    ex = get_exercise(session, principal, exercise_id)
    if not may_play_exercise(principal, marking(session, ex)):
        raise Forbidden("only the teams answer the lessons-learned questionnaire")
    known = {k for k, _ in questions(session, ex)}
    unknown = sorted(set(answers) - known)
    if unknown:
        raise InvalidInput(f"no question {unknown[0]!r}; questions: {', '.join(sorted(known))}")
    saved = []
    for key, text in answers.items():
        text = text.strip()[:10000]
        if not text:
            continue
        row = session.get(LessonAnswer, (ex.id, principal.org_id, key))
        if row is None:
            row = LessonAnswer(exercise_id=ex.id, org_id=principal.org_id, question=key,
                               answer=text, user_id=principal.user_id, at=at)  # fmt: skip
            session.add(row)
        else:
            row.answer, row.user_id, row.at = text, principal.user_id, at
        saved.append(row)
    if saved:
        event(session, ex, "lessons", f"{len(saved)} answer(s) to the questionnaire", at,
              principal.org_id)  # fmt: skip
    return saved


def lessons_of(session: Session, ex: Exercise) -> list[LessonAnswer]:
    stmt = select(LessonAnswer).where(LessonAnswer.exercise_id == ex.id)
    return list(session.scalars(stmt.order_by(LessonAnswer.org_id, LessonAnswer.question)))


def add_action(
    session: Session, principal: Principal, exercise_id: int, *, org_id: int, title: str,
    detail: str = "", due_on: datetime | None = None, at: datetime,
) -> ImprovementAction:  # fmt: skip
    ex = directed(session, principal, exercise_id)
    if session.get(Organisation, org_id) is None:
        raise InvalidInput(f"no organisation {org_id}")
    title = title.strip()
    if not 0 < len(title) <= 300:
        raise InvalidInput("an improvement action needs a title of 1 to 300 characters")
    action = ImprovementAction(exercise_id=ex.id, org_id=org_id, title=title,
                               detail=detail.strip()[:10000], status="open", due_on=due_on,
                               created_at=at, created_by=principal.user_id)  # fmt: skip
    session.add(action)
    session.flush()
    audit.record(session, principal, "exercise.action", "exercise", ex.id, item=action.id)
    return action


def _action(
    session: Session, principal: Principal, action_id: int
) -> tuple[ImprovementAction, Exercise]:
    action = session.get(ImprovementAction, action_id)
    ex = session.get(Exercise, action.exercise_id) if action else None
    if (
        action is None
        or ex is None
        or not may_see_improvement(principal, marking(session, ex), action.org_id)
    ):
        raise NotFound(f"no improvement action {action_id} that you may see")
    return action, ex


def set_action_status(
    session: Session, principal: Principal, action_id: int, status: str, *, at: datetime
) -> ImprovementAction:
    action, ex = _action(session, principal, action_id)
    if not may_update_improvement(principal, marking(session, ex), action.org_id):
        raise Forbidden("the organisation's coordinators and admins, or the director, track it")
    if status not in ACTION_STATUSES:
        raise InvalidInput(f"status is one of {', '.join(ACTION_STATUSES)}")
    action.status = status
    action.closed_at = at if status == "done" else None
    audit.record(session, principal, "exercise.action.status", "exercise", ex.id,
                 item=action.id, status=status)  # fmt: skip
    return action


def actions_of(session: Session, ex: Exercise) -> list[ImprovementAction]:
    stmt = select(ImprovementAction).where(ImprovementAction.exercise_id == ex.id)
    return list(session.scalars(stmt.order_by(ImprovementAction.id)))


def actions_for_org(session: Session, principal: Principal, org_id: int) -> list[ImprovementAction]:
    """An organisation's improvement actions from every exercise, as the caller may see them."""
    stmt = select(ImprovementAction).where(ImprovementAction.org_id == org_id)
    found = list(session.scalars(stmt.order_by(ImprovementAction.status, ImprovementAction.id)))
    visible = []
    for a in found:
        ex = session.get(Exercise, a.exercise_id)
        if ex is not None and may_see_improvement(principal, marking(session, ex), a.org_id):
            visible.append(a)
    return visible


def get_action(session: Session, principal: Principal, action_id: int) -> ImprovementAction:
    return _action(session, principal, action_id)[0]
