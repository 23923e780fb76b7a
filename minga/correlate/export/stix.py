"""A STIX 2.1 bundle of the exported indicators, each as stored (markings, signatures kept)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator

from minga.correlate.export.rows import ExportMeta, ExportRow, Kind

MEDIA_TYPE = "application/stix+json;version=2.1"
SUFFIX = "json"
KINDS = frozenset(Kind)
# Bundle ids are derived from the node and the export's moment: the same data, the same bytes.
NAMESPACE = uuid.UUID("6f1c61d2-54a5-4e5f-9a4c-0b4f3f2f4d10")


def write(rows: Iterable[ExportRow], meta: ExportMeta) -> Iterator[str]:
    bundle_id = uuid.uuid5(NAMESPACE, f"{meta.node}|{meta.as_of}|{meta.description}")
    yield f'{{"type":"bundle","id":"bundle--{bundle_id}","objects":['
    last = None
    first = True
    for row in rows:
        if row.stix_id == last:
            continue
        last = row.stix_id
        yield ("" if first else ",") + row.raw
        first = False
    yield "]}\n"
