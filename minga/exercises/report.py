"""The after-action report: timeline, per-team results, expectation outcomes, lessons learned
and improvement actions, as one HTML document (es/pt/en) that `minga.reports.pdf` also lays out
as a PDF. Staff see every team; a team sees its own results."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from jinja2 import Environment
from sqlalchemy.orm import Session

from minga.exercises import improve, play
from minga.exercises import scenario as fmt
from minga.exercises.service import doc_of, get_exercise, get_scenario, marking, timeline
from minga.incidents.service import aware, org_names
from minga.policy import Principal


def when(value: datetime | None) -> str:
    value = aware(value)
    return f"{value:%Y-%m-%d %H:%M:%S} UTC" if value else "—"


def report_values(
    session: Session, principal: Principal, exercise_id: int, now: datetime
) -> dict[str, Any]:
    ex = get_exercise(session, principal, exercise_id)
    staff = principal.user_id in marking(session, ex).staff
    sc = get_scenario(session, ex.scenario_id)
    doc = doc_of(sc)
    injects = fmt.inject_map(doc)
    teams = [t for t in play.scores(session, ex) if staff or t.org_id == principal.org_id]
    shown = {t.org_id for t in teams}
    expectation_text = {
        (k, e["key"]): fmt.text(e.get("text"), ex.lang)
        for k, inj in injects.items()
        for e in inj.get("expectations", [])
    }
    events = [e for e in timeline(session, ex) if e.org_id is None or e.org_id in shown]
    actions = [a for a in improve.actions_of(session, ex) if staff or a.org_id in shown]
    lessons = [x for x in improve.lessons_of(session, ex) if x.org_id in shown]
    ids = [e.org_id for e in events if e.org_id] + [a.org_id for a in actions]
    names = org_names(session, ids + [x.org_id for x in lessons])
    return {
        "ex": ex,
        "scenario_title": fmt.text(doc["title"], ex.lang),
        "summary": fmt.text(doc["summary"], ex.lang),
        "sources": doc.get("sources", []),
        "teams": teams,
        "expectation_text": expectation_text,
        "inject_title": {k: fmt.text(i["title"], ex.lang) for k, i in injects.items()},
        "events": events,
        "names": names,
        "questions": dict(improve.questions(session, ex)),
        "lessons": lessons,
        "actions": actions,
        "when": when,
        "generated": when(now),
    }


def report_html(
    session: Session,
    principal: Principal,
    exercise_id: int,
    env: Environment,
    lang: str,
    now: datetime,
) -> str:
    """The report in `lang` (the caller activated that language's catalog)."""
    values = report_values(session, principal, exercise_id, now)
    return env.get_template("exercises/report.html").render(lang=lang, **values)
