"""Reference data of incidents: the RSIT classification, the severity scale, the clocks.

RSIT comes from the MISP `rsit` taxonomy the node loaded (`minga knowledge update
misp-taxonomies`), else from the copy shipped in `data/rsit.json` (see data/README.md)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from minga.errors import InvalidInput
from minga.knowledge.models import Entry

DATA = Path(__file__).parent / "data"


@dataclass(frozen=True, slots=True)
class Category:
    tag: str  # rsit:malicious-code="infected-system"
    predicate: str
    value: str
    label: str
    description: str


@cache
def shipped_rsit() -> tuple[Category, ...]:
    doc = json.loads((DATA / "rsit.json").read_text())
    found = []
    for group in doc["values"]:
        for entry in group["entry"]:
            found.append(
                Category(
                    tag=f'rsit:{group["predicate"]}="{entry["value"]}"',
                    predicate=group["predicate"],
                    value=entry["value"],
                    label=entry.get("expanded", entry["value"]),
                    description=entry.get("description", ""),
                )
            )
    return tuple(found)


def rsit_tags(session: Session) -> list[str]:
    """The classification tags this node accepts: the loaded taxonomy's, else the shipped ones."""
    row = session.scalar(select(Entry.data).where(Entry.kind == "taxonomy", Entry.key == "rsit"))
    if row:
        tags = [t for t in orjson.loads(row).get("tags", []) if "=" in t]
        if tags:
            return tags
    return [c.tag for c in shipped_rsit()]


def label_of(tag: str) -> str:
    for c in shipped_rsit():
        if c.tag == tag:
            return f"{c.predicate} / {c.label}"
    return tag


def check_classification(session: Session, value: str) -> str:
    """A tag (`rsit:malicious-code="infected-system"`) or its short form
    (`malicious-code:infected-system`)."""
    value = value.strip()
    if ":" in value and "=" not in value and not value.startswith("rsit:"):
        predicate, _, short = value.partition(":")
        value = f'rsit:{predicate}="{short}"'
    if value not in rsit_tags(session):
        raise InvalidInput(
            f"unknown classification {value!r}: use an RSIT tag such as"
            ' rsit:malicious-code="infected-system" (or malicious-code:infected-system)'
        )
    return value


def severities(scale: str) -> list[str]:
    return [s.strip() for s in scale.split(",") if s.strip()]


def check_severity(scale: str, value: str) -> str:
    allowed = severities(scale)
    if value not in allowed:
        raise InvalidInput(f"unknown severity {value!r}: one of {', '.join(allowed)}")
    return value


@dataclass(frozen=True, slots=True)
class ClockRule:
    clock: str
    hours: float


def load_clocks(path: str) -> dict[str, Any]:
    source = Path(path) if path else DATA / "clocks.json"
    try:
        doc = json.loads(source.read_text())
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"cannot read the incident clocks file {source}: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("default"), list):
        raise InvalidInput(f"{source}: a JSON object with a 'default' list of clocks is expected")
    return doc


def clock_rules(doc: dict[str, Any], country: str, sector: str) -> list[ClockRule]:
    """The clocks for an incident's country and sector: the most specific entry wins."""
    rules = (
        doc.get("sectors", {}).get(f"{country}:{sector}")
        or doc.get("countries", {}).get(country)
        or doc["default"]
    )
    return [ClockRule(str(r["clock"]), float(r["hours"])) for r in rules]
