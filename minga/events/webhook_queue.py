"""Webhook deliveries: queued by a consumer of the outbox, POSTed by a sender.

The consumer `notify.webhooks` turns each object event into one delivery row per webhook
whose owner may see the version and asked for it (types, highest TLP, lowest score, watched
only), and each notification event into a delivery to its recipient's webhooks; it writes
rows only, in its cursor's transaction. The sender POSTs due rows outside any transaction
(different webhooks in parallel, one webhook's one after another; after a failure its other
deliveries wait for the next round), asks the policy again just before sending (a group
left, a webhook switched off), and records the outcome.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from minga.accounts import service as accounts
from minga.accounts.models import GroupMember, Organisation, User
from minga.events import items, outbox
from minga.events.notify_models import webhook_deliveries, webhooks
from minga.events.outbox import Event
from minga.events.routing import NOTIFICATION
from minga.events.watch import watchlist
from minga.events.webhooks import (
    DEAD,
    DELIVERED,
    PENDING,
    SIGNATURE_HEADER,
    Webhook,
    sign,
    webhook_of,
)
from minga.intel.models import object_groups, objects
from minga.policy import TLP_RANK, Marking, Principal, Reach, Tlp, may_see, org_reader
from minga.settings import Settings

CONSUMER = "notify.webhooks"
KINDS = [outbox.OBJECTS, NOTIFICATION]
SENDERS = 8  # webhooks POSTed to in parallel


def reader_of(session: Session, hook: Webhook) -> Principal | None:
    """Whose eyes a webhook sees with: its user's, or its organisation's as a whole."""
    if hook.user_id is not None:
        user = session.get(User, hook.user_id)
        return accounts.principal_for(session, user) if user is not None and user.active else None
    org = session.get(Organisation, hook.org_id)
    if org is None:
        return None
    groups = session.scalars(select(GroupMember.group_id).where(GroupMember.org_id == org.id))
    return org_reader(org.id, frozenset(groups), remote=org.remote_node is not None)


def _key(stix_id: str, modified: str, owner: int) -> str:
    return f"{stix_id}|{modified}|{owner}"


def markings(session: Session, keys: Iterable[str]) -> dict[str, Marking]:
    """The marking of each version named by a delivery key (`id|modified|owner`)."""
    wanted = {tuple(k.split("|")) for k in keys if k.count("|") == 2}
    if not wanted:
        return {}
    rows = session.execute(
        select(
            objects.c.pk,
            objects.c.stix_id,
            objects.c.modified,
            objects.c.owner_org_id,
            objects.c.tlp,
            objects.c.reach,
            objects.c.has_groups,
        ).where(objects.c.stix_id.in_(sorted({w[0] for w in wanted})))
    ).all()
    found: dict[str, Marking] = {}
    for r in rows:
        key = _key(r.stix_id, r.modified, r.owner_org_id)
        if tuple(key.split("|")) not in wanted:
            continue
        groups: frozenset[int] = frozenset()
        if r.has_groups:
            query = select(object_groups.c.group_id).where(object_groups.c.object_pk == r.pk)
            groups = frozenset(session.scalars(query))
        found[key] = Marking(r.owner_org_id, Tlp(r.tlp), Reach(r.reach), groups)
    return found


def _addressed(hook: Webhook, payload: dict[str, Any]) -> bool:
    if hook.org_id != payload.get("recipient_org_id"):
        return False
    wanted_user = payload.get("recipient_user_id")
    if hook.user_id is None:
        return wanted_user is None  # a user's own watch hits go to that user's webhooks
    return wanted_user is None or wanted_user == hook.user_id


def evidence_marking(session: Session, payload: dict[str, Any]) -> Marking | None:
    evidence = payload.get("evidence") or {}
    rows = session.execute(
        select(objects.c.owner_org_id).where(
            objects.c.stix_id == str(evidence.get("id")),
            objects.c.modified == str(evidence.get("modified")),
        )
    ).scalars()
    for owner in rows:
        key = _key(str(evidence.get("id")), str(evidence.get("modified")), owner)
        found = markings(session, [key]).get(key)
        if found is not None:
            return found
    return None


def queue(session: Session, batch: list[Event]) -> int:
    """The `cursors.drain` handler: one delivery row per webhook and thing it should get."""
    hooks = [webhook_of(r) for r in session.execute(select(webhooks).where(webhooks.c.active))]
    if not hooks:
        return 0
    loaded = items.load(session, [e for e in batch if e.kind == outbox.OBJECTS])
    notes = [e for e in batch if e.kind == NOTIFICATION]
    now = datetime.now(UTC)
    rows: list[dict[str, Any]] = []

    def add(hook: Webhook, seq: int, key: str, body: dict[str, Any]) -> None:
        rows.append(
            {
                "webhook_id": hook.id,
                "seq": seq,
                "item_key": key[:200],
                "payload": orjson.dumps(body).decode(),
                "status": PENDING,
                "attempts": 0,
                "next_at": now,
                "last_error": "",
                "created_at": now,
            }
        )

    for hook in hooks:
        reader = reader_of(session, hook)
        if reader is None:
            continue
        watched = watchlist(session, hook.user_id) if hook.watched_only and hook.user_id else None
        for item in items.visible(reader, loaded, hook.filters):
            if watched is not None and not watched.matches(item):
                continue
            body = {"kind": "object", "seq": item.seq, "item": item.as_json()}
            add(hook, item.seq, _key(item.stix_id, item.modified, item.marking.owner_org_id), body)
        for event in notes:
            if not _addressed(hook, event.payload):
                continue
            marking = evidence_marking(session, event.payload)
            if marking is None or not may_see(reader, marking):
                continue
            limit = hook.filters.max_tlp
            if limit is not None and TLP_RANK[marking.tlp] > TLP_RANK[limit]:
                continue
            evidence = event.payload.get("evidence") or {}
            key = _key(str(evidence.get("id")), str(evidence.get("modified")), marking.owner_org_id)
            add(hook, event.seq, key, {"kind": "notification", **event.as_json()})
    if rows:
        dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        session.execute(dialect.insert(webhook_deliveries).on_conflict_do_nothing(), rows)
    return len(rows)


def _post(client: httpx.Client, delivery: Any) -> tuple[int | None, str]:
    body = delivery.payload.encode()
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: sign(delivery.secret, int(time.time()), body),
        "Minga-Delivery": str(delivery.id),
        "Minga-Event": orjson.loads(body).get("kind", "object"),
        "User-Agent": "Minga-Webhook/1",
    }
    try:
        answer = client.post(delivery.url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        return None, f"no answer from the receiver: {type(exc).__name__}: {exc}"[:500]
    if 200 <= answer.status_code < 300:
        return answer.status_code, ""
    return answer.status_code, f"the receiver answered {answer.status_code}"


def send_due(sessions: sessionmaker[Session], settings: Settings, *, limit: int = 500) -> int:
    """POST every due delivery (up to `limit`); how many were delivered."""
    now = datetime.now(UTC)
    with sessions() as session:
        due = session.execute(
            select(webhook_deliveries, webhooks.c.url, webhooks.c.secret)
            .join(webhooks, webhooks.c.id == webhook_deliveries.c.webhook_id)
            .where(
                webhook_deliveries.c.status == PENDING,
                webhook_deliveries.c.next_at <= now,
                webhooks.c.active,
            )
            .order_by(webhook_deliveries.c.id)
            .limit(limit)
        ).all()
        if not due:
            return 0
        hooks = {
            r.id: webhook_of(r)
            for r in session.execute(
                select(webhooks).where(webhooks.c.id.in_({d.webhook_id for d in due}))
            )
        }
        readers = {i: reader_of(session, h) for i, h in hooks.items()}
        marks = markings(session, [d.item_key for d in due])
    outcomes: dict[int, tuple[str, int | None, str]] = {}
    by_hook: dict[int, list[Any]] = defaultdict(list)
    for d in due:
        reader, marking = readers.get(d.webhook_id), marks.get(d.item_key)
        if reader is None or marking is None or not may_see(reader, marking):
            outcomes[d.id] = (DEAD, None, "its owner may no longer see this")
        else:
            by_hook[d.webhook_id].append(d)

    def run(deliveries: list[Any]) -> None:
        with httpx.Client(timeout=settings.webhook_timeout_seconds) as client:
            for d in deliveries:
                code, error = _post(client, d)
                outcomes[d.id] = (DELIVERED if not error else PENDING, code, error)
                if error:  # the receiver is down: its later deliveries wait their turn
                    break

    with ThreadPoolExecutor(max_workers=min(SENDERS, max(1, len(by_hook)))) as pool:
        list(pool.map(run, by_hook.values()))
    attempts = {d.id: d.attempts for d in due}
    done = datetime.now(UTC)
    with sessions() as session:
        for delivery_id, (status, code, error) in outcomes.items():
            tried = attempts[delivery_id] + 1
            values: dict[str, Any] = {"attempts": tried, "last_code": code, "last_error": error}
            if status == DELIVERED:
                values.update(status=DELIVERED, delivered_at=done)
            elif status == DEAD or tried >= settings.webhook_max_attempts:
                values.update(status=DEAD)
            else:
                wait = settings.webhook_retry_seconds * 2 ** (tried - 1)
                values.update(next_at=done + timedelta(seconds=wait))
            session.execute(
                update(webhook_deliveries)
                .where(webhook_deliveries.c.id == delivery_id)
                .values(**values)
            )
        session.commit()
    return sum(1 for s, _, _ in outcomes.values() if s == DELIVERED)
