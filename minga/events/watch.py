"""Watch lists: "tell me when this value, campaign or actor is updated, sighted, or reported
from another country".

A watch names a value (normalised as the observable index normalises it, so `Example.COM.` and
`example.com` are one watch; a domain covers its subdomains and the URLs on them, a network
the addresses in it) or an object id (a campaign, intrusion set, threat actor, indicator ...:
its new versions, its revocation, sightings of it and relationships to it). A watch may ask
only for reports from organisations of another country than the watcher's.
`Watchlist.matches` is pure, so a stream can ask it per item without a query.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from minga.accounts.models import Organisation, User
from minga.correlate import normalise
from minga.correlate.index import values_of
from minga.correlate.normalise import Value
from minga.errors import Conflict, InvalidInput, NotFound
from minga.events.items import Item
from minga.events.notify_models import watches
from minga.policy import Principal

VALUE = "value"
OBJECT = "object"
STIX_ID = re.compile(
    r"[a-z0-9][a-z0-9-]{0,60}--[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z"
)
REF_PROPERTIES = ("sighting_of_ref", "source_ref", "target_ref")
MAX_WATCHES = 1000  # per user


@dataclass(frozen=True)
class Watch:
    id: int
    kind: str  # VALUE or OBJECT
    value_kind: str
    value: str
    abroad_only: bool

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "value_kind": self.value_kind,
            "value": self.value,
            "abroad_only": self.abroad_only,
        }


def refs_of(obj: dict[str, Any]) -> set[str]:
    """The objects an object points at (what it sighted, relates, reports)."""
    found = {obj[p] for p in REF_PROPERTIES if isinstance(obj.get(p), str)}
    refs = obj.get("object_refs")
    if isinstance(refs, list):
        found.update(r for r in refs if isinstance(r, str))
    return found


def _covers(watch: Watch, value: Value) -> bool:
    if watch.value_kind == "domain":
        key = normalise.reversed_domain(watch.value)
        return value.kind in ("domain", "url", "email") and (value.lo or "").startswith(key)
    if watch.value_kind in ("ipv4-net", "ipv6-net"):
        net = normalise.ip(watch.value)
        if net is None or value.lo is None or value.kind not in ("ipv4", "ipv6"):
            return False
        return len(value.lo) == len(net.lo or "") and (net.lo or "") <= value.lo <= (net.hi or "")
    return watch.value_kind == value.kind and watch.value == value.value


@dataclass(frozen=True)
class Watchlist:
    user_id: int
    country: str
    watches: tuple[Watch, ...]

    def hits(
        self,
        item: Item,
        values: Sequence[Value] | None = None,
        *,
        owner_country: str | None = None,
    ) -> list[Watch]:
        """The watches `item` answers; `values` are the item's comparable values when the
        caller resolved them (a sighting's are those of what it sighted), else the object's."""
        if not self.watches:
            return []
        abroad = owner_country is not None and owner_country != self.country
        refs: set[str] | None = None
        found: list[Watch] = []
        for watch in self.watches:
            if watch.abroad_only and not abroad:
                continue
            if watch.kind == OBJECT:
                if refs is None:
                    refs = refs_of(item.obj) | {item.stix_id}
                if watch.value in refs:
                    found.append(watch)
                continue
            if values is None:
                values = values_of(item.obj)
            if any(_covers(watch, v) for v in values):
                found.append(watch)
        return found

    def matches(
        self, item: Item, values: Sequence[Value] | None = None, *, owner_country: str | None = None
    ) -> bool:
        return bool(self.hits(item, values, owner_country=owner_country))


def _watch(row: Any) -> Watch:
    return Watch(row.id, row.kind, row.value_kind, row.value, bool(row.abroad_only))


def watchlist(session: Session, user_id: int) -> Watchlist:
    """The watch list of one user (empty when the user watches nothing)."""
    country = session.scalar(
        select(Organisation.country)
        .join(User, User.org_id == Organisation.id)
        .where(User.id == user_id)
    )
    rows = session.execute(
        select(watches).where(watches.c.user_id == user_id).order_by(watches.c.id)
    )
    return Watchlist(user_id, country or "", tuple(_watch(r) for r in rows))


def all_watchlists(session: Session) -> list[Watchlist]:
    """Every user's non-empty watch list (the router reads them once per batch)."""
    countries = dict(
        session.execute(select(User.id, Organisation.country).join(Organisation)).all()
    )
    by_user: dict[int, list[Watch]] = {}
    for row in session.execute(select(watches).order_by(watches.c.id)):
        by_user.setdefault(row.user_id, []).append(_watch(row))
    return [Watchlist(u, countries.get(u, ""), tuple(ws)) for u, ws in by_user.items()]


def parse(kind: str, text: str) -> tuple[str, str]:
    """(value kind, normalised value) of what a person typed; `InvalidInput` if unusable."""
    text = text.strip()
    if kind == OBJECT:
        if not STIX_ID.match(text):
            raise InvalidInput("an object watch needs a STIX id such as campaign--<uuid>")
        return text.split("--", 1)[0], text
    if kind != VALUE:
        raise InvalidInput("a watch is on a 'value' or an 'object'")
    if not text:
        raise InvalidInput("the value to watch is empty")
    found = normalise.guess(text)
    if found is None or found.kind == "text":
        raise InvalidInput(
            f"{text[:80]!r} is not a value Minga compares (an address, network, domain, URL,"
            " e-mail address, hash or AS number)"
        )
    return found.kind, found.value


def add_watch(
    session: Session, principal: Principal, kind: str, text: str, *, abroad_only: bool = False
) -> Watch:
    value_kind, value = parse(kind, text)
    mine = select(watches.c.id).where(watches.c.user_id == principal.user_id)
    if len(session.scalars(mine).all()) >= MAX_WATCHES:
        raise Conflict(f"a user watches at most {MAX_WATCHES} things")
    same = mine.where(
        watches.c.kind == kind, watches.c.value_kind == value_kind, watches.c.value == value
    )
    if session.scalar(same) is not None:
        raise Conflict(f"you already watch {value}")
    new_id = session.execute(
        insert(watches)
        .values(
            user_id=principal.user_id,
            kind=kind,
            value=value,
            value_kind=value_kind,
            abroad_only=abroad_only,
            created_at=datetime.now(UTC),
        )
        .returning(watches.c.id)
    ).scalar_one()
    return Watch(int(new_id), kind, value_kind, value, abroad_only)


def remove_watch(session: Session, principal: Principal, watch_id: int) -> None:
    gone = session.execute(
        delete(watches).where(watches.c.id == watch_id, watches.c.user_id == principal.user_id)
    )
    if not getattr(gone, "rowcount", 0):
        raise NotFound("no such watch")


def list_watches(session: Session, principal: Principal) -> list[Watch]:
    return list(watchlist(session, principal.user_id).watches)


def values_for(items: Iterable[Item], sighted: dict[str, list[Value]]) -> dict[int, list[Value]]:
    """Each item's comparable values: its own, or for a sighting those of what it sighted."""
    out: dict[int, list[Value]] = {}
    for n, item in enumerate(items):
        if item.type == "sighting":
            out[n] = sighted.get(str(item.obj.get("sighting_of_ref", "")), [])
        else:
            out[n] = values_of(item.obj)
    return out
