"""A new version of an object made by its owner from a form: name, description, expiry, TLP.

Decided in `minga.policy` (`may_version`, `may_change_tlp`); stored with `create_objects`, so
the version keeps the object's reach and sharing groups and follows every write rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from minga.errors import Forbidden, InvalidInput
from minga.intel.queries import get_object, groups_of, marking_of
from minga.intel.service import Provenance, create_objects
from minga.intel.stix import SCO_TYPES, TLP2_MARKING_ID, TLP_MARKINGS, now_ts, ts_to_us, us_to_ts
from minga.policy import Principal, Tlp, may_change_tlp, may_version

# Properties a form may change, by type: what a person names and describes.
EDITABLE = ("name", "description")
NAMELESS = frozenset({"relationship", "sighting", "note", "opinion", "observed-data"})


@dataclass(frozen=True, slots=True)
class Changes:
    name: str | None = None
    description: str | None = None
    valid_until: str | None = None  # a STIX timestamp; "" removes it; indicators only
    tlp: Tlp | None = None


def editable(obj: dict[str, Any]) -> dict[str, bool]:
    """Which fields the form shows for this object."""
    kind = str(obj.get("type", ""))
    return {
        "name": kind not in NAMELESS,
        "description": kind not in ("note", "opinion"),
        "valid_until": kind == "indicator",
    }


def new_version(session: Session, principal: Principal, stix_id: str, changes: Changes) -> str:
    """Store the changed object as a new version; returns its `modified`."""
    current = get_object(session, principal, stix_id)
    marking = marking_of(session, current)
    if not may_version(principal, marking):
        raise Forbidden("only the organisation that created an object may change it")
    if current.type in SCO_TYPES:
        raise InvalidInput("cyber observables have no versions and cannot be changed")
    obj = current.object()
    if obj.get("revoked"):
        raise InvalidInput("a revoked object cannot be changed")
    shown = editable(obj)
    for key, value in (("name", changes.name), ("description", changes.description)):
        if value is None or not shown[key]:
            continue
        if value:
            obj[key] = value
        elif key == "name":
            raise InvalidInput("the name cannot be empty")
        else:
            obj.pop(key, None)
    if changes.valid_until is not None and shown["valid_until"]:
        _set_expiry(obj, changes.valid_until)
    tlp = current.tlp
    if changes.tlp is not None and changes.tlp is not current.tlp:
        if not may_change_tlp(current.tlp, changes.tlp, is_owner=True):
            raise Forbidden("the TLP of this object may not be changed so")
        tlp = changes.tlp
        refs = [r for r in obj.get("object_marking_refs") or [] if r not in TLP_MARKINGS]
        obj["object_marking_refs"] = [*refs, TLP2_MARKING_ID[tlp]]
    if obj == current.object():
        return str(obj.get("modified", ""))
    obj["modified"] = us_to_ts(max(ts_to_us(now_ts()), ts_to_us(obj["modified"]) + 1000))
    create_objects(
        session,
        principal,
        [obj],
        tlp=tlp,
        reach=current.reach,
        group_ids=sorted(groups_of(session, current.pk)),
        provenance=Provenance(current.source, current.origin_node),
    )
    return str(obj["modified"])


def _set_expiry(obj: dict[str, Any], value: str) -> None:
    if not value:
        obj.pop("valid_until", None)
        return
    try:
        until = ts_to_us(value)
    except ValueError as exc:
        raise InvalidInput(f"valid_until: {exc}") from None
    start = obj.get("valid_from")
    if isinstance(start, str) and until <= ts_to_us(start):
        raise InvalidInput("the expiry must be later than the time the indicator is valid from")
    obj["valid_until"] = us_to_ts(until)
