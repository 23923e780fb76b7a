"""Webhooks: an organisation's or a user's URL that receives, signed, what its owner may see.

Each POST carries the JSON body and these headers, so a receiver can check it came from
this node and was not replayed:

    Minga-Signature: t=<unix seconds>,v1=<hex HMAC-SHA-256(secret, "<t>." + body)>
    Minga-Delivery: <delivery id>      Minga-Event: object | notification

A receiver computes the HMAC over the timestamp, a dot and the raw body bytes with the secret
shown once when the webhook was made, compares it in constant time, and refuses timestamps
older than a few minutes. A delivery that fails (no answer, or not 2xx) is retried with
exponential backoff and is dead after `MINGA_WEBHOOK_MAX_ATTEMPTS`; the delivery log keeps
every delivery, and a dead or delivered one can be replayed.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from minga.errors import Forbidden, InvalidInput, NotFound
from minga.events.items import Filters
from minga.events.notify_models import webhook_deliveries, webhooks
from minga.policy import Principal, Tlp, may_manage_webhook

PENDING, DELIVERED, DEAD = "pending", "delivered", "dead"
MAX_URL = 2000
SIGNATURE_HEADER = "Minga-Signature"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The `Minga-Signature` header value of `body` sent at `timestamp`."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(secret: str, header: str, body: bytes) -> bool:
    """What a receiver does (and the tests' receivers do): recompute and compare."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    if not parts.get("t", "").isdigit():
        return False
    return hmac.compare_digest(sign(secret, int(parts["t"]), body), header)


@dataclass(frozen=True)
class Webhook:
    id: int
    org_id: int
    user_id: int | None
    url: str
    filters: Filters
    watched_only: bool
    active: bool
    created_at: datetime

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "org_id": self.org_id,
            "user_id": self.user_id,
            "url": self.url,
            "types": sorted(self.filters.types),
            "max_tlp": self.filters.max_tlp.value if self.filters.max_tlp else None,
            "min_score": self.filters.min_score,
            "watched_only": self.watched_only,
            "active": self.active,
            "created_at": self.created_at.isoformat(),
        }


def webhook_of(row: Any) -> Webhook:
    created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
    return Webhook(
        id=row.id,
        org_id=row.org_id,
        user_id=row.user_id,
        url=row.url,
        filters=Filters(
            types=frozenset(t for t in row.types.split(",") if t),
            max_tlp=Tlp(row.max_tlp) if row.max_tlp else None,
            min_score=row.min_score,
        ),
        watched_only=bool(row.watched_only),
        active=bool(row.active),
        created_at=created,
    )


def check_url(url: str) -> str:
    url = url.strip()
    if not url or len(url) > MAX_URL or any(c.isspace() for c in url):
        raise InvalidInput("a webhook URL is one http:// or https:// URL without spaces")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidInput(f"the webhook URL cannot be read: {exc}") from exc
    if parts.scheme not in ("http", "https"):
        raise InvalidInput("a webhook URL must start with http:// or https://")
    if not parts.hostname:
        raise InvalidInput("the webhook URL names no host")
    if parts.username is not None or parts.password is not None:
        raise InvalidInput("put no credentials in a webhook URL: the signature authenticates")
    if port == 0:
        raise InvalidInput("the webhook URL's port must be 1 to 65535")
    return url


def _filters(types: list[str], max_tlp: str | None, min_score: int | None) -> dict[str, Any]:
    clean = sorted({t.strip().lower() for t in types if t.strip()})
    if any(not t.replace("-", "").isalnum() for t in clean):
        raise InvalidInput("STIX types are words such as indicator or sighting")
    if max_tlp:
        try:
            Tlp(max_tlp.lower().removeprefix("tlp:"))
        except ValueError as exc:
            raise InvalidInput(f"unknown TLP {max_tlp!r}") from exc
    if min_score is not None and not 0 <= min_score <= 100:
        raise InvalidInput("the lowest score is a whole number from 0 to 100")
    tlp = max_tlp.lower().removeprefix("tlp:") if max_tlp else None
    return {"types": ",".join(clean), "max_tlp": tlp, "min_score": min_score}


def create(
    session: Session,
    principal: Principal,
    *,
    url: str,
    for_org: bool = False,
    types: list[str] | None = None,
    max_tlp: str | None = None,
    min_score: int | None = None,
    watched_only: bool = False,
) -> tuple[Webhook, str]:
    """A new webhook and its secret (shown this once): the organisation's with `for_org`
    (its admins), else the caller's own."""
    user_id = None if for_org else principal.user_id
    if not may_manage_webhook(principal, principal.org_id, user_id):
        raise Forbidden("an organisation's webhooks are made by its admins")
    if watched_only and for_org:
        raise InvalidInput("watch lists belong to users: only a user's own webhook is watched-only")
    secret = secrets.token_urlsafe(32)
    new_id = session.execute(
        insert(webhooks)
        .values(
            org_id=principal.org_id,
            user_id=user_id,
            url=check_url(url),
            secret=secret,
            watched_only=watched_only,
            active=True,
            created_at=datetime.now(UTC),
            **_filters(types or [], max_tlp, min_score),
        )
        .returning(webhooks.c.id)
    ).scalar_one()
    return get(session, principal, int(new_id)), secret


def get(session: Session, principal: Principal, webhook_id: int) -> Webhook:
    row = session.execute(select(webhooks).where(webhooks.c.id == webhook_id)).one_or_none()
    if row is None or not may_manage_webhook(principal, row.org_id, row.user_id):
        raise NotFound("no such webhook")  # another's webhook and no webhook look alike
    return webhook_of(row)


def list_for(session: Session, principal: Principal) -> list[Webhook]:
    rows = session.execute(
        select(webhooks).where(webhooks.c.org_id == principal.org_id).order_by(webhooks.c.id)
    )
    return [webhook_of(r) for r in rows if may_manage_webhook(principal, r.org_id, r.user_id)]


def remove(session: Session, principal: Principal, webhook_id: int) -> None:
    get(session, principal, webhook_id)
    session.execute(delete(webhook_deliveries).where(webhook_deliveries.c.webhook_id == webhook_id))
    session.execute(delete(webhooks).where(webhooks.c.id == webhook_id))


def set_active(session: Session, principal: Principal, webhook_id: int, active: bool) -> None:
    get(session, principal, webhook_id)
    session.execute(update(webhooks).where(webhooks.c.id == webhook_id).values(active=active))


def delivery_json(row: Any) -> dict[str, Any]:
    def iso(value: datetime | None) -> str | None:
        if value is None:
            return None
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()

    return {
        "id": row.id,
        "seq": row.seq,
        "item": row.item_key,
        "status": row.status,
        "attempts": row.attempts,
        "next_at": iso(row.next_at),
        "last_code": row.last_code,
        "last_error": row.last_error,
        "created_at": iso(row.created_at),
        "delivered_at": iso(row.delivered_at),
    }


def deliveries(
    session: Session, principal: Principal, webhook_id: int, *, status: str | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:  # fmt: skip
    """The delivery log of a webhook, newest first."""
    get(session, principal, webhook_id)
    query = (
        select(webhook_deliveries)
        .where(webhook_deliveries.c.webhook_id == webhook_id)
        .order_by(webhook_deliveries.c.id.desc())
        .limit(limit)
    )
    if status:
        if status not in (PENDING, DELIVERED, DEAD):
            raise InvalidInput("status is pending, delivered or dead")
        query = query.where(webhook_deliveries.c.status == status)
    return [delivery_json(r) for r in session.execute(query)]


def replay(session: Session, principal: Principal, webhook_id: int, delivery_id: int) -> None:
    """Send a delivery again (a dead one after the receiver is fixed, or a delivered one)."""
    get(session, principal, webhook_id)
    done = session.execute(
        update(webhook_deliveries)
        .where(
            webhook_deliveries.c.id == delivery_id,
            webhook_deliveries.c.webhook_id == webhook_id,
        )
        .values(status=PENDING, attempts=0, next_at=datetime.now(UTC), last_error="")
    )
    if not getattr(done, "rowcount", 0):
        raise NotFound("no such delivery of this webhook")
