"""STIX 2.0 and 2.1 input: bundles, lists or single objects; 2.0 content is upgraded to 2.1.

The upgrade follows the STIX 2.1 specification's changes from 2.0: every SDO/SRO gets
`spec_version: "2.1"`; `labels` that 2.0 used as the required type vocabulary move to the 2.1
`*_types` properties (indicator, malware, tool, threat-actor, report); indicators get
`pattern_type: "stix"`; 2.0 malware is always a family (`is_family: true`); observed-data's
embedded `objects` dictionary becomes top-level cyber observables with ids and `object_refs`.
`created_by_ref`, markings and every other property are kept.
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson

from minga.errors import InvalidInput
from minga.intel.stix import MAX_DEPTH, SCO_TYPES, too_deep

# 2.0 `labels` that 2.1 renamed to a typed vocabulary property.
LABELS_TO_TYPES = {
    "indicator": "indicator_types",
    "malware": "malware_types",
    "tool": "tool_types",
    "threat-actor": "threat_actor_types",
    "report": "report_types",
}
# Namespace for ids given to observables that STIX 2.0 embedded without one.
OBSERVABLE_NS = uuid.UUID("7c6a1c5e-8a0e-4a55-9d3c-0b9a4e2f6d11")


def decode_json(data: bytes, what: str) -> Any:
    """Decoded JSON, refused (InvalidInput) when malformed or nested deeper than STIX needs:
    the upgrade, misp-stix and stix2 all recurse, and would fail far from the cause."""
    try:
        decoded = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"the {what} is not valid JSON: {exc}") from None
    # A bundle or MISP export holds the objects two or three levels down.
    if too_deep(decoded, MAX_DEPTH + 3):
        raise InvalidInput(f"the {what} nests JSON more than {MAX_DEPTH} levels deep")
    return decoded


def objects_of(payload: Any) -> tuple[list[Any], str | None]:
    """The objects of a bundle, list or single object, and the bundle's spec_version if any."""
    if isinstance(payload, list):
        return payload, None
    if not isinstance(payload, dict):
        raise InvalidInput("a STIX file must hold a bundle, a list of objects or one object")
    if payload.get("type") == "bundle":
        items = payload.get("objects", [])
        if not isinstance(items, list):
            raise InvalidInput("the bundle's objects must be a list")
        return items, payload.get("spec_version")
    if "type" in payload and "id" in payload:
        return [payload], None
    raise InvalidInput("this JSON is not STIX: expected a bundle, a list or an object with type/id")


def is_stix20(obj: dict[str, Any], bundle_version: str | None) -> bool:
    """True for an object in STIX 2.0 form (no spec_version in 2.0 SDOs/SROs)."""
    if obj.get("spec_version") == "2.0":
        return True
    otype = obj.get("type")
    if "spec_version" in obj or (isinstance(otype, str) and otype in SCO_TYPES):
        return False
    return bundle_version == "2.0" or bundle_version is None


def upgrade_object(obj: dict[str, Any]) -> list[dict[str, Any]]:
    """The STIX 2.1 form of one 2.0 object, plus the observables it embedded (new objects; the
    upgrade changes only top-level properties, so nested values are shared with `obj`)."""
    new = dict(obj)
    otype = new.get("type")
    new["spec_version"] = "2.1"
    target = LABELS_TO_TYPES.get(str(otype))
    if target and "labels" in new and target not in new:
        new[target] = new.pop("labels")
    if otype == "indicator":
        new.setdefault("pattern_type", "stix")
    elif otype == "malware":
        new.setdefault("is_family", True)
    extra: list[dict[str, Any]] = []
    if (
        otype == "observed-data"
        and isinstance(new.get("objects"), dict)
        and isinstance(new.get("id"), str)
    ):
        extra = _lift_observables(new)
    return [new, *extra]


def _lift_observables(observed: dict[str, Any]) -> list[dict[str, Any]]:
    embedded: dict[str, Any] = observed.pop("objects")
    ids = {
        key: f"{sco.get('type')}--{uuid.uuid5(OBSERVABLE_NS, observed['id'] + '/' + key)}"
        for key, sco in embedded.items()
        if isinstance(sco, dict)
    }
    lifted = []
    for key, sco in embedded.items():
        if not isinstance(sco, dict):
            continue
        item = {"type": sco.get("type"), "spec_version": "2.1", "id": ids[key]}
        for prop, value in sco.items():
            if prop == "type":
                continue
            if prop.endswith("_ref") and isinstance(value, str):
                item[prop] = ids.get(value, value)
            elif prop.endswith("_refs") and isinstance(value, list):
                item[prop] = [ids.get(v, v) if isinstance(v, str) else v for v in value]
            else:
                item[prop] = value
        lifted.append(item)
    observed["object_refs"] = [ids[k] for k in embedded if k in ids]
    return lifted


def read_stix(data: bytes) -> list[dict[str, Any]]:
    """STIX 2.1 objects from a STIX 2.0 or 2.1 file (not validated yet)."""
    items, bundle_version = objects_of(decode_json(data, "STIX file"))
    out: list[dict[str, Any]] = []
    for obj in items:
        if isinstance(obj, dict) and is_stix20(obj, bundle_version):
            out.extend(upgrade_object(obj))
        else:
            out.append(obj)
    return out
