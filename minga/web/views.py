"""Turning stored objects into what a page shows: a display name, owner, markings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from minga.accounts import service as accounts
from minga.accounts.models import Organisation
from minga.intel import stats
from minga.intel.service import StoredObject
from minga.intel.stix import REQUIRED, SCO_TYPES
from minga.policy import Principal

# Types offered by the list filter: every STIX domain object and relationship, plus observables.
LISTED_TYPES = sorted(
    {*REQUIRED} - {"marking-definition", "language-content", "extension-definition"}
) + sorted(SCO_TYPES)


@dataclass(frozen=True, slots=True)
class Row:
    stix_id: str
    type: str
    name: str
    tlp: str
    reach: str
    owner: str
    country: str
    added_us: int
    version: str
    revoked: bool


def organisations(session: Session) -> dict[int, Organisation]:
    return {o.id: o for o in accounts.list_organisations(session)}


def display_name(obj: dict[str, Any]) -> str:
    if obj.get("type") == "relationship":
        return str(obj.get("relationship_type", "relationship"))
    for key in ("name", "value", "pattern", "key", "path", "number"):
        if obj.get(key) not in (None, ""):
            return str(obj[key])[:160]
    return str(obj.get("id", ""))


def row(item: StoredObject, orgs: dict[int, Organisation]) -> Row:
    owner = orgs.get(item.owner_org_id)
    return Row(
        stix_id=item.stix_id,
        type=item.type,
        name=display_name(item.object()),
        tlp=item.tlp.value,
        reach=item.reach.value,
        owner=owner.name if owner else "",
        country=owner.country if owner else "",
        added_us=item.added_us,
        version=item.version,
        revoked=item.revoked,
    )


def names_of(session: Session, principal: Principal, ids: list[str]) -> dict[str, str]:
    """Display names of the objects among `ids` that the principal may see."""
    found = stats.visible_by_ids(session, principal, ids[:500])
    return {i.stix_id: display_name(i.object()) for i in found}


def my_groups(session: Session, principal: Principal) -> list[accounts.GroupView]:
    """Sharing groups this principal may share with: those its organisation belongs to."""
    return accounts.groups_to_share_with(session, principal)
