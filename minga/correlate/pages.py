"""The correlation section of the object page (`minga.web.pages.object_detail` renders it)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from minga.correlate.lookup import correlate_object
from minga.intel.queries import StoredObject
from minga.policy import Principal


def correlation_section(
    session: Session, principal: Principal, item: StoredObject, limit: int
) -> dict[str, Any]:
    """Template values of `correlate/_section.html` for one object version."""
    found = correlate_object(session, principal, item.pk, item.stix_id, limit=limit)
    return {"correlations": found, "correlation_limit": limit}
