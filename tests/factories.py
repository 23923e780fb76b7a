"""Builders of valid STIX objects with pinned ids and timestamps, so tests compare exact JSON."""

from __future__ import annotations

import uuid
from typing import Any

BASE = "2024-03-01T12:00:00.000Z"


def sid(kind: str, n: int) -> str:
    return f"{kind}--{uuid.UUID(int=n, version=4)}"  # RFC 4122, as STIX 2.1 requires


def indicator(
    n: int, *, value: str | None = None, modified: str = BASE, **extra: Any
) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "type": "indicator",
        "spec_version": "2.1",
        "id": sid("indicator", n),
        "created": BASE,
        "modified": modified,
        "name": f"Indicator {n}",
        "pattern": f"[ipv4-addr:value = '{value or f'198.51.100.{n % 256}'}']",
        "pattern_type": "stix",
        "valid_from": BASE,
    }
    obj.update(extra)
    return obj


def malware(n: int, name: str = "Conti", **extra: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "type": "malware",
        "spec_version": "2.1",
        "id": sid("malware", n),
        "created": BASE,
        "modified": BASE,
        "name": name,
        "is_family": True,
    }
    obj.update(extra)
    return obj
