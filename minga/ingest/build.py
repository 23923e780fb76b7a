"""STIX 2.1 objects built from indicators found in feeds and reports."""

from __future__ import annotations

import uuid
from typing import Any

from minga.extract import Ioc, IocType, ioc_to_stix_pattern
from minga.intel.stix import TLP2_MARKING_ID
from minga.policy import Tlp

ATTACK_URL = "https://attack.mitre.org/techniques/"
# Namespace for ids that must come out the same when the same feed row is imported again.
FEED_NS = uuid.UUID("b6c3d0a4-1f7e-4c52-8d0b-5a9e3c7f2e18")


def new_id(kind: str, stable_key: str | None = None) -> str:
    value = uuid.uuid5(FEED_NS, stable_key) if stable_key else uuid.uuid4()
    return f"{kind}--{value}"


def marking(tlp: Tlp | None) -> dict[str, Any]:
    return {"object_marking_refs": [TLP2_MARKING_ID[tlp]]} if tlp else {}


def indicator(
    ioc: Ioc,
    *,
    ts: str,
    valid_from: str | None = None,
    description: str | None = None,
    labels: list[str] | None = None,
    tlp: Tlp | None = None,
    stable_key: str | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any] | None:
    """An indicator for a network/file IOC; None for CVEs and ATT&CK ids (no pattern)."""
    pattern = ioc_to_stix_pattern(ioc)
    if pattern is None:
        return None
    obj: dict[str, Any] = {
        "type": "indicator",
        "spec_version": "2.1",
        "id": new_id("indicator", stable_key and f"{stable_key}|{pattern}"),
        "created": ts,
        "modified": ts,
        "name": ioc.value[:300],
        "pattern": pattern,
        "pattern_type": "stix",
        "valid_from": valid_from or ts,
        "indicator_types": ["malicious-activity"],
    }
    if description:
        obj["description"] = description[:4000]
    if labels:
        obj["labels"] = labels
    obj.update(extra or {})
    obj.update(marking(tlp))
    return obj


def vulnerability(cve: str, *, ts: str, tlp: Tlp | None = None) -> dict[str, Any]:
    return {
        "type": "vulnerability",
        "spec_version": "2.1",
        "id": new_id("vulnerability"),
        "created": ts,
        "modified": ts,
        "name": cve,
        "external_references": [{"source_name": "cve", "external_id": cve}],
        **marking(tlp),
    }


def attack_pattern(technique: str, *, ts: str, tlp: Tlp | None = None) -> dict[str, Any]:
    return {
        "type": "attack-pattern",
        "spec_version": "2.1",
        "id": new_id("attack-pattern"),
        "created": ts,
        "modified": ts,
        "name": technique,
        "external_references": [
            {
                "source_name": "mitre-attack",
                "external_id": technique,
                "url": ATTACK_URL + technique.replace(".", "/") + "/",
            }
        ],
        **marking(tlp),
    }


def objects_for(ioc: Ioc, *, ts: str, tlp: Tlp | None = None, **kw: Any) -> dict[str, Any] | None:
    """The one STIX object an IOC becomes: indicator, vulnerability or attack-pattern."""
    if ioc.type is IocType.CVE:
        return vulnerability(ioc.value, ts=ts, tlp=tlp)
    if ioc.type is IocType.ATTACK_TECHNIQUE:
        return attack_pattern(ioc.value, ts=ts, tlp=tlp)
    return indicator(ioc, ts=ts, tlp=tlp, **kw)
