"""MISP JSON: one event (the MISP core format) with an attribute per value, tagged with its TLP."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from datetime import datetime

import orjson

from minga.correlate.export.rows import ExportMeta, ExportRow, Kind

MEDIA_TYPE = "application/json"
SUFFIX = "misp.json"
KINDS = frozenset(Kind)
NAMESPACE = uuid.UUID("0c6bb3f0-4ab3-4d43-9d7d-5f8d0b1f0b36")
# (MISP attribute type, category) per kind, from MISP's describeTypes.
TYPES: dict[Kind, tuple[str, str]] = {
    Kind.IPV4: ("ip-dst", "Network activity"),
    Kind.IPV6: ("ip-dst", "Network activity"),
    Kind.CIDR: ("ip-dst", "Network activity"),
    Kind.DOMAIN: ("domain", "Network activity"),
    Kind.URL: ("url", "Network activity"),
    Kind.EMAIL: ("email-src", "Payload delivery"),
    Kind.MD5: ("md5", "Payload delivery"),
    Kind.SHA1: ("sha1", "Payload delivery"),
    Kind.SHA256: ("sha256", "Payload delivery"),
    Kind.SHA512: ("sha512", "Payload delivery"),
}


def _epoch(stamp: str) -> str:
    try:
        return str(int(datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()))
    except ValueError:
        return "0"


def attribute(row: ExportRow) -> dict[str, object]:
    misp_type, category = TYPES[row.kind]
    comment = " — ".join(part for part in (row.name, row.org) if part)
    return {
        "uuid": str(uuid.uuid5(NAMESPACE, f"{row.stix_id}|{row.kind}|{row.value}")),
        "type": misp_type,
        "category": category,
        "value": row.value,
        "to_ids": True,
        "distribution": "5",  # as the event
        "comment": comment,
        "timestamp": _epoch(row.modified),
        "Tag": [{"name": f"tlp:{row.tlp}"}],
    }


def write(rows: Iterable[ExportRow], meta: ExportMeta) -> Iterator[str]:
    event_id = uuid.uuid5(NAMESPACE, f"{meta.node}|{meta.as_of}|{meta.description}")
    head = {
        "uuid": str(event_id),
        "info": meta.description or f"Minga feed from {meta.node}",
        "date": meta.as_of[:10],
        "timestamp": str(meta.serial),
        "published": False,
        "analysis": "2",
        "threat_level_id": "4",
        "distribution": "0",
        "Orgc": {"name": meta.node},
        "Tag": [],
    }
    # The event's fields, then its attributes streamed one by one.
    yield orjson.dumps({"Event": head}).decode()[:-2] + ',"Attribute":['
    first = True
    for row in rows:
        yield ("" if first else ",") + orjson.dumps(attribute(row)).decode()
        first = False
    yield "]}}\n"
