"""Re-importing a CSV row without a date stores nothing new.

A CSV indicator's id is stable (UUIDv5 over the organisation and its pattern), but a row with
no date has no `created` of its own: the import's clock would make each run a new version.
This step gives such an indicator the `created`, `modified` and `valid_from` of the version
its organisation already holds when nothing else changed (the store then answers `existing`),
and, when its description or labels changed, a new version that keeps the first `created`.
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from minga.intel.models import objects

TIMES = ("created", "modified", "valid_from")
CHUNK = 500


def keep_stored_times(session: Session, org_id: int, fresh: list[dict[str, Any]]) -> None:
    """Give each of `fresh` (dateless CSV indicators, changed in place) its stored times."""
    by_id = {o["id"]: o for o in fresh}
    ids = list(by_id)
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        rows = session.execute(
            select(objects.c.stix_id, objects.c.raw).where(
                objects.c.stix_id.in_(chunk),
                objects.c.owner_org_id == org_id,
                objects.c.is_latest.is_(True),
            )
        )
        for stix_id, raw in rows:
            stored = orjson.loads(raw)
            obj = by_id[stix_id]
            if _same_content(stored, obj):
                obj.update({k: stored[k] for k in TIMES if k in stored})
            else:  # a new version of the same indicator: its first `created` stays
                obj["created"] = stored.get("created", obj["created"])
                obj["valid_from"] = stored.get("valid_from", obj.get("valid_from"))


def _same_content(stored: dict[str, Any], fresh: dict[str, Any]) -> bool:
    """What the row says (pattern, name, description, labels, marking...) is what is stored;
    properties the store adds (created_by_ref, signatures) are not the row's to compare."""
    return all(stored.get(k) == v for k, v in fresh.items() if k not in TIMES)
