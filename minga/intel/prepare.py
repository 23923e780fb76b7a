"""Before anything is stored: each object checked, its creator and TLP marking filled in, and
keyed by (id, version), with the sentences a refused write answers with."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from minga.intel.rows import Sent, as_sent, same_content
from minga.intel.stix import (
    SCO_TYPES,
    TLP2_MARKING_ID,
    check_object,
    tlp_of,
    ts_to_us,
    version_of,
)
from minga.policy import Principal, Tlp

NOT_OWNER = "only the organisation that created it may version it"
CONFLICT = "a different object with this id and modified is already stored or sent"


@dataclass(frozen=True, slots=True)
class Item:
    index: int
    obj: dict[str, Any]
    sent: Sent
    tlp: Tlp  # as marked for storing


def problem(item: Item, message: str) -> dict[str, Any]:
    return {"index": item.index, "id": item.obj["id"], "problems": [message]}


def prepare(
    items: Sequence[Any], principal: Principal, tlp: Tlp | None, enforce_creator: bool
) -> tuple[dict[tuple[str, int], Item], list[dict[str, Any]], list[dict[str, Any]]]:
    """Checked, marked items by (id, version µs); the invalid ones; in-request conflicts."""
    invalid: list[dict[str, Any]] = []
    conflicts: list[dict[str, Any]] = []
    prepared: dict[tuple[str, int], Item] = {}
    for index, obj in enumerate(items):
        problems = check_object(obj)
        sent = as_sent(obj) if not problems else Sent(False)
        level = Tlp.CLEAR
        if not problems:
            problems, level = _apply_markings(obj, principal, tlp, enforce_creator)
        if problems:
            invalid.append({"index": index, "id": _id_or_none(obj), "problems": problems})
            continue
        version = version_of(obj)
        key = (obj["id"], ts_to_us(version) if version else 0)
        item = Item(index, obj, sent, level)
        first = prepared.setdefault(key, item)
        if first is not item and key[1] and not same_content(first.obj, obj, sent):
            conflicts.append(problem(item, CONFLICT))
    return prepared, invalid, conflicts


def _id_or_none(obj: Any) -> str | None:
    return obj.get("id") if isinstance(obj, dict) and isinstance(obj.get("id"), str) else None


def _apply_markings(
    obj: dict[str, Any], principal: Principal, tlp: Tlp | None, enforce_creator: bool
) -> tuple[list[str], Tlp]:
    """Problems of the object's creator and TLP; the TLP it is stored with (marked so)."""
    own = tlp_of(obj)
    if own is not None and tlp is not None and own is not tlp:
        return [
            f"the object is marked TLP:{own.value.upper()} but TLP:{tlp.value.upper()} was asked"
        ], own
    if obj["type"] in SCO_TYPES:
        return [], own or Tlp.CLEAR
    creator = obj.get("created_by_ref")
    if enforce_creator:
        if creator is None:
            obj["created_by_ref"] = principal.identity_ref
        elif creator != principal.identity_ref:
            identity = principal.identity_ref
            return [f"created_by_ref must be your organisation's identity {identity}"], Tlp.CLEAR
    if own is None and obj["type"] != "marking-definition":
        own = tlp or Tlp.AMBER
        refs = list(obj.get("object_marking_refs") or [])
        refs.append(TLP2_MARKING_ID[own])
        obj["object_marking_refs"] = refs
    return [], own or Tlp.CLEAR
