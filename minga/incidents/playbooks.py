"""Playbooks: phases and tasks (NIST SP 800-61r3's phases, after CSF 2.0: detect, respond,
recover, improve); the shipped ones are data files in es/pt/en. Applying one to an incident
creates its tasks in the language of choice.

An organisation shares its own playbooks like intelligence: a playbook is stored as a STIX 2.1
custom object (`x-minga-playbook`) in the object store, so TLP, reach, sharing groups and
federation apply to it as to any object, and whoever may see it may apply it (by its STIX id)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from minga.errors import InvalidInput, NotFound
from minga.incidents.models import Task
from minga.incidents.service import note, workable
from minga.incidents.work import add_task
from minga.intel.queries import ObjectQuery, list_objects
from minga.intel.service import create_objects
from minga.policy import Principal, Reach, Tlp

PHASES = ("detect", "respond", "recover", "improve")
LANGUAGES = ("en", "es", "pt")
SHIPPED = Path(__file__).parent / "data" / "playbooks"
PLAYBOOK_TYPE = "x-minga-playbook"


@dataclass(frozen=True)
class Playbook:
    key: str  # the shipped name, or the STIX id of a shared playbook
    name: str
    classification: str
    tlp: str
    title: dict[str, str]
    description: dict[str, str]
    phases: tuple[tuple[str, tuple[dict[str, str], ...]], ...]

    def tasks(self, lang: str) -> list[tuple[str, str]]:
        return [(phase, t.get(lang) or t["en"]) for phase, ts in self.phases for t in ts]


def parse(doc: Any, key: str | None = None) -> Playbook:
    """A playbook from its JSON (the shape of the shipped files); InvalidInput if malformed."""
    try:
        phases = tuple(
            (str(p["phase"]), tuple({k: str(v) for k, v in t.items()} for t in p["tasks"]))
            for p in doc["phases"]
        )
        title, description = dict(doc["title"]), dict(doc.get("description") or {"en": ""})
        book = Playbook(key or str(doc["name"]), str(doc["name"]), str(doc["classification"]),
                        str(doc.get("tlp", "clear")), title, description, phases)  # fmt: skip
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InvalidInput(f"a playbook needs name, title, classification, phases: {exc}") from None
    unknown = [p for p, _ in phases if p not in PHASES]
    if unknown:
        raise InvalidInput(f"unknown phase {unknown[0]!r}: one of {', '.join(PHASES)}")
    if "en" not in title or not all("en" in t for _, ts in phases for t in ts):
        raise InvalidInput("a playbook's title and every task need at least an English text")
    return book


@cache
def shipped() -> dict[str, Playbook]:
    books = [parse(json.loads(p.read_text())) for p in sorted(SHIPPED.glob("*.json"))]
    return {b.name: b for b in books}


def shared(session: Session, principal: Principal) -> dict[str, Playbook]:
    """Playbooks other organisations (or the caller's) shared in the store, that it may see."""
    found: dict[str, Playbook] = {}
    query = ObjectQuery(types=[PLAYBOOK_TYPE])
    for row in list_objects(session, principal, query, limit=500).items:
        obj = row.object()
        try:
            found[row.stix_id] = parse(obj.get("x_playbook"), key=row.stix_id)
        except InvalidInput:
            continue  # malformed in the store (another node's): not offered
    return found


def available(session: Session, principal: Principal) -> dict[str, Playbook]:
    return {**shipped(), **shared(session, principal)}


def get_playbook(
    name: str, session: Session | None = None, principal: Principal | None = None
) -> Playbook:
    books = shipped() if session is None or principal is None else available(session, principal)
    book = books.get(name)
    if book is None:
        raise NotFound(f"no playbook {name!r} that you may see: one of {', '.join(shipped())}")
    return book


def share_playbook(
    session: Session,
    principal: Principal,
    doc: Any,
    *,
    tlp: Tlp,
    reach: Reach,
    group_ids: list[int],
    at: datetime,
) -> str:
    """Store an organisation's playbook as an `x-minga-playbook` object; its STIX id."""
    book = parse(doc)
    stamp = at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"
    obj = {
        "type": PLAYBOOK_TYPE, "spec_version": "2.1", "id": f"{PLAYBOOK_TYPE}--{uuid.uuid4()}",
        "created": stamp, "modified": stamp, "created_by_ref": principal.identity_ref,
        "name": book.name,
        "x_playbook": {"name": book.name, "classification": book.classification,
                       "title": book.title, "description": book.description,
                       "phases": [{"phase": p, "tasks": list(ts)} for p, ts in book.phases]},
    }  # fmt: skip
    create_objects(session, principal, [obj], tlp=tlp, reach=reach, group_ids=group_ids)
    return str(obj["id"])


def apply_playbook(
    session: Session, principal: Principal, incident_id: int, name: str, lang: str, *, at: datetime
) -> list[Task]:
    if lang not in LANGUAGES:
        raise InvalidInput(f"language is one of {', '.join(LANGUAGES)}")
    book = get_playbook(name, session, principal)
    incident = workable(session, principal, incident_id)
    made = [
        add_task(session, principal, incident.id, title=title, phase=phase, at=at)
        for phase, title in book.tasks(lang)
    ]
    note(
        session, principal, incident, "playbook", f"playbook {name} applied ({len(made)} tasks)", at
    )
    return made
