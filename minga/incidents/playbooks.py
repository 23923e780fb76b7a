"""Playbooks: phases and tasks (NIST SP 800-61r3's phases, after CSF 2.0: detect, respond,
recover, improve); the shipped ones are data files in es/pt/en. Applying one to an incident
creates its tasks in the incident's language of choice."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path

from sqlalchemy.orm import Session

from minga.errors import InvalidInput, NotFound
from minga.incidents.models import Task
from minga.incidents.service import note, workable
from minga.incidents.work import add_task
from minga.policy import Principal

PHASES = ("detect", "respond", "recover", "improve")
LANGUAGES = ("en", "es", "pt")
SHIPPED = Path(__file__).parent / "data" / "playbooks"


@dataclass(frozen=True)
class Playbook:
    name: str
    classification: str
    tlp: str
    title: dict[str, str]
    description: dict[str, str]
    phases: tuple[tuple[str, tuple[dict[str, str], ...]], ...]

    def tasks(self, lang: str) -> list[tuple[str, str]]:
        return [(phase, t.get(lang) or t["en"]) for phase, ts in self.phases for t in ts]


def _load(path: Path) -> Playbook:
    doc = json.loads(path.read_text())
    phases = tuple((p["phase"], tuple(p["tasks"])) for p in doc["phases"])
    unknown = [p for p, _ in phases if p not in PHASES]
    if unknown:
        raise ValueError(f"{path.name}: unknown phase {unknown[0]}")
    return Playbook(
        doc["name"], doc["classification"], doc["tlp"], doc["title"], doc["description"], phases
    )


@cache
def shipped() -> dict[str, Playbook]:
    books = [_load(p) for p in sorted(SHIPPED.glob("*.json"))]
    return {b.name: b for b in books}


def get_playbook(name: str) -> Playbook:
    book = shipped().get(name)
    if book is None:
        raise NotFound(f"no playbook {name!r}: one of {', '.join(shipped())}")
    return book


def apply_playbook(
    session: Session, principal: Principal, incident_id: int, name: str, lang: str, *, at: datetime
) -> list[Task]:
    if lang not in LANGUAGES:
        raise InvalidInput(f"language is one of {', '.join(LANGUAGES)}")
    book = get_playbook(name)
    incident = workable(session, principal, incident_id)
    made = [
        add_task(session, principal, incident.id, title=title, phase=phase, at=at)
        for phase, title in book.tasks(lang)
    ]
    note(
        session, principal, incident, "playbook", f"playbook {name} applied ({len(made)} tasks)", at
    )
    return made
