"""Storing what can be stored of a batch from outside (feeds, bundles, TAXII pulls).

`create_objects` is all or nothing; a feed of thousands of objects must not be blocked by a
few that cannot be stored. Each failed round drops the items it names (invalid ones, then
ones another organisation owns or that conflict with a stored version) and tries again.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from minga.errors import Conflict, Forbidden, InvalidInput
from minga.intel import service as intel
from minga.intel.service import WriteResult
from minga.policy import Principal

ROUNDS = 4  # invalid, then not owner / TLP, then conflicts: each round settles one kind


def store_tolerant(
    session: Session,
    principal: Principal,
    items: Sequence[Any],
    failures: dict[int, str] | None = None,
    **options: Any,
) -> tuple[WriteResult, dict[int, str]]:
    """The result and the reason for every item left out, by index into `items`."""
    failures = dict(failures or {})
    result = WriteResult()
    for _ in range(ROUNDS):
        remaining = [i for i in range(len(items)) if i not in failures]
        if not remaining:
            break
        try:
            # Copies: a failed round must not leave the creator or TLP it filled in behind.
            batch = [dict(items[i]) if isinstance(items[i], dict) else items[i] for i in remaining]
            result = intel.create_objects(session, principal, batch, **options)
            break
        except (InvalidInput, Forbidden, Conflict) as exc:
            if not isinstance(exc.details, list):
                raise
            for d in exc.details:
                message = "; ".join(d.get("problems") or [exc.message])
                if "index" in d:
                    failures[remaining[d["index"]]] = message
                else:
                    for i in remaining:
                        if _id(items[i]) == d.get("id"):
                            failures[i] = message
    return result, failures


def _id(obj: Any) -> str:
    oid = obj.get("id") if isinstance(obj, dict) else None
    return oid if isinstance(oid, str) else ""
