"""Routing: every stored object version is checked against the constituencies and the watch
lists, and each match becomes a "notification" event for its recipient.

The consumer `notify.route` reads object events (`cursors.drain`) and writes its notification
events in the same transaction that moves its cursor, so a crash replays the batch and no
notification is lost or doubled. A constituent hears about one value once per period (the
`constituency_seen` table), never about its own objects, and only when it may see the
evidence; a watcher only about what it may see, and not about its own changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from minga.accounts import service as accounts
from minga.accounts.models import GroupMember, Organisation, User
from minga.correlate.index import values_of
from minga.correlate.normalise import Value
from minga.events import constituency, items, outbox, watch
from minga.events.items import Item
from minga.events.notify_models import constituency_seen
from minga.events.outbox import Event
from minga.intel.models import latest_flag, objects
from minga.policy import Principal, may_receive_notification, org_reader

CONSUMER = "notify.route"
NOTIFICATION = "notification"
CONSTITUENCY = "constituency"
WATCH = "watch"
WHAT_TEXT = {
    items.OBJECT: "was reported",
    items.REVOKED: "was revoked",
    items.SIGHTING: "was sighted",
}


@dataclass(frozen=True)
class Org:
    id: int
    country: str
    reader: Principal


def _orgs(session: Session) -> dict[int, Org]:
    groups: dict[int, set[int]] = {}
    for org_id, group_id in session.execute(select(GroupMember.org_id, GroupMember.group_id)):
        groups.setdefault(org_id, set()).add(group_id)
    found = {}
    for org in session.scalars(select(Organisation)):
        reader = org_reader(
            org.id, frozenset(groups.get(org.id, ())), remote=org.remote_node is not None
        )
        found[org.id] = Org(org.id, org.country, reader)
    return found


def sighted_values(session: Session, found: Sequence[Item]) -> dict[str, list[Value]]:
    """The comparable values of what each sighting of `found` sighted (its latest version)."""
    refs = {str(i.obj.get("sighting_of_ref")) for i in found if i.type == "sighting"}
    if not refs:
        return {}
    rows = session.execute(
        select(objects.c.stix_id, objects.c.raw).where(
            objects.c.stix_id.in_(sorted(refs)), latest_flag(objects)
        )
    )
    return {row.stix_id: values_of(orjson.loads(row.raw)) for row in rows}


def _first_in_period(session: Session, org_id: int, value: str, period: int) -> bool:
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    done = session.execute(
        dialect.insert(constituency_seen)
        .values(org_id=org_id, value=value, period=period)
        .on_conflict_do_nothing()
        .returning(constituency_seen.c.org_id)
    )
    return done.first() is not None  # rowcount is -1 here on PostgreSQL


def evidence_of(item: Item) -> dict[str, Any]:
    return {
        "seq": item.seq,
        "event": item.what,
        "id": item.stix_id,
        "type": item.type,
        "modified": item.modified,
        "tlp": item.tlp.value,
        "name": item.name[:300],
        "object": item.obj,
    }


def notify(
    session: Session,
    item: Item,
    *,
    org_id: int,
    user_id: int | None,
    reason: str,
    value: str,
    title: str,
) -> int:
    payload = {
        "recipient_org_id": org_id,
        "recipient_user_id": user_id,
        "reason": reason,
        "value": value,
        "object_id": item.stix_id,
        "tlp": item.tlp.value,
        "evidence": evidence_of(item),
        "title": title,
    }
    return outbox.emit(session, NOTIFICATION, subject=item.stix_id, payload=payload)


class Router:
    """One batch's routing: reads the constituencies, watch lists and organisations once."""

    def __init__(self, session: Session, period_seconds: int) -> None:
        self.session = session
        self.period_seconds = period_seconds
        self.matcher = constituency.matcher(session)
        self.lists = watch.all_watchlists(session)
        self._orgs: dict[int, Org] | None = None
        self._users: dict[int, Principal] = {}

    @property
    def idle(self) -> bool:
        return self.matcher.size == 0 and not self.lists

    def orgs(self) -> dict[int, Org]:
        if self._orgs is None:
            self._orgs = _orgs(self.session)
        return self._orgs

    def user(self, user_id: int) -> Principal | None:
        if user_id not in self._users:
            user = self.session.get(User, user_id)
            if user is None or not user.active:
                return None
            self._users[user_id] = accounts.principal_for(self.session, user)
        return self._users[user_id]

    def run(self, batch: list[Event]) -> int:
        loaded = items.load(self.session, batch)
        if not loaded:
            return 0
        actors = {e.seq: e.actor_user_id for e in batch}
        sighted = sighted_values(self.session, loaded)
        values = watch.values_for(loaded, sighted)
        period = int(batch[-1].created_at.timestamp()) // self.period_seconds
        sent = 0
        for n, item in enumerate(loaded):
            if item.what != items.REVOKED and self.matcher.size and values[n]:
                sent += self.constituents(item, values[n], period)
            if self.lists:
                sent += self.watchers(item, values[n], actors.get(item.seq))
        return sent

    def constituents(self, item: Item, values: list[Value], period: int) -> int:
        sent = 0
        for value, owners in zip(values, self.matcher.match_many(values), strict=True):
            for org_id in sorted(owners):
                org = self.orgs().get(org_id)
                if org is None or org_id == item.marking.owner_org_id:
                    continue
                if not may_receive_notification(org.reader, item.marking):
                    continue  # it may not see the evidence: nothing is said
                if not _first_in_period(self.session, org_id, value.value, period):
                    continue
                title = f"{value.value} (your constituency) appears in a {item.type} that" + (
                    f" {WHAT_TEXT[item.what]}"
                )
                notify(
                    self.session,
                    item,
                    org_id=org_id,
                    user_id=None,
                    reason=CONSTITUENCY,
                    value=value.value,
                    title=title,
                )
                sent += 1
        return sent

    def watchers(self, item: Item, values: list[Value], actor: int | None) -> int:
        owner = self.orgs().get(item.marking.owner_org_id)
        sent = 0
        for wl in self.lists:
            if wl.user_id == actor:
                continue
            hits = wl.hits(item, values, owner_country=owner.country if owner else None)
            if not hits:
                continue
            reader = self.user(wl.user_id)
            if reader is None or not may_receive_notification(reader, item.marking):
                continue
            watched = hits[0].value
            title = f"{watched} (on your watch list): a {item.type} {WHAT_TEXT[item.what]}"
            if owner is not None and owner.country != wl.country:
                title += f", reported from {owner.country}"
            notify(
                self.session,
                item,
                org_id=reader.org_id,
                user_id=wl.user_id,
                reason=WATCH,
                value=watched,
                title=title,
            )
            sent += 1
        return sent


def handler(period_seconds: int) -> Any:
    """The `cursors.drain` handler of the consumer `notify.route`."""

    def handle(session: Session, batch: list[Event]) -> None:
        router = Router(session, period_seconds)
        if not router.idle:
            router.run(batch)

    return handle
