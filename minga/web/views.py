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
from minga.web import i18n
from minga.web.labels import opinion_label, verb_label

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


NAME_LEN = 160


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= NAME_LEN else text[: NAME_LEN - 1].rstrip() + "…"


def display_name(obj: dict[str, Any]) -> str:
    """What the object is, by its own content (references are left as ids; see `describe`)."""
    kind = obj.get("type")
    if kind == "relationship":
        return str(obj.get("relationship_type", "relationship"))
    if kind == "note":
        for key in ("abstract", "content"):
            if isinstance(obj.get(key), str) and obj[key].strip():
                return _short(obj[key])
    if kind == "opinion":
        said = opinion_label(str(obj.get("opinion", "")))
        explanation = obj.get("explanation")
        return _short(f"{said}: {explanation}" if isinstance(explanation, str) else said)
    for key in ("name", "value", "pattern", "key", "path", "number"):
        if obj.get(key) not in (None, ""):
            return _short(str(obj[key]))
    return str(obj.get("id", ""))


def referenced(obj: dict[str, Any]) -> list[str]:
    """Ids whose names `describe` needs: a relationship's ends, what a sighting saw and where."""
    kind = obj.get("type")
    if kind == "relationship":
        return [str(obj.get(k)) for k in ("source_ref", "target_ref") if obj.get(k)]
    if kind == "sighting":
        where = obj.get("where_sighted_refs")
        refs = [str(r) for r in where if isinstance(r, str)] if isinstance(where, list) else []
        return [str(obj.get("sighting_of_ref", "")), *refs]
    return []


def _named(ref: Any, names: dict[str, str]) -> str:
    ref = str(ref or "")
    return names.get(ref) or ref.split("--")[0] or "?"


def describe(obj: dict[str, Any], names: dict[str, str]) -> str:
    """A row's text: a relationship "source — verb → target", a sighting "what, where, how
    often", anything else its name (`display_name`). `names` holds the referenced objects'
    names that the reader may see; others show as their type."""
    kind = obj.get("type")
    if kind == "relationship":
        verb = verb_label(str(obj.get("relationship_type", "")))
        return (
            f"{_named(obj.get('source_ref'), names)} — {verb} → "
            f"{_named(obj.get('target_ref'), names)}"
        )
    if kind == "sighting":
        what = _named(obj.get("sighting_of_ref"), names)
        where = [_named(r, names) for r in referenced(obj)[1:]]
        count = obj.get("count")
        parts = [what]
        if where:
            parts.append(i18n.gettext("at %(where)s") % {"where": ", ".join(where[:3])})
        if isinstance(count, int) and not isinstance(count, bool):
            parts.append(
                i18n.ngettext("seen %(num)s time", "seen %(num)s times", count) % {"num": count}
            )
        return _short(" · ".join(parts))
    return display_name(obj)


def rows(
    session: Session,
    principal: Principal,
    items: list[StoredObject],
    orgs: dict[int, Organisation],
) -> list[Row]:
    """Rows of a list, with the names of the objects they refer to looked up at once."""
    wanted = [
        r for i in items if i.type in ("relationship", "sighting") for r in referenced(i.object())
    ]
    names = names_of(session, principal, wanted) if wanted else {}
    return [row(i, orgs, names) for i in items]


def row(
    item: StoredObject, orgs: dict[int, Organisation], names: dict[str, str] | None = None
) -> Row:
    owner = orgs.get(item.owner_org_id)
    return Row(
        stix_id=item.stix_id,
        type=item.type,
        name=describe(item.object(), names or {}),
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
