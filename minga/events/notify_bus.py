"""The notify consumers on the event bus (`MINGA_EVENT_BUS=nats://...`).

With the bus set, `minga worker` processes read the outbox from JetStream and run the same
handlers `minga.events.notify_loop` runs in-process without it: constituency and watch-list
routing, queueing webhook deliveries, queueing e-mail. They are ordered consumers (one worker
at a time, under a lease), because the once-per-period rule of routing reads what the previous
batch wrote. The senders (HTTP, SMTP) stay in `minga serve`'s notify loop, which with the bus
only sends what the workers queued.
"""

from __future__ import annotations

from functools import cache

from sqlalchemy.orm import Session

from minga.events import mailer, routing, webhook_queue
from minga.events.bus import register_consumer
from minga.events.outbox import Event
from minga.settings import Settings

ROUTE = "notify-route"
WEBHOOKS = "notify-webhooks"
MAIL = "notify-mail"


@cache
def _period() -> int:
    # The worker's own MINGA_* environment is the node's (it serves the same database).
    return Settings().constituency_period_seconds


def route(session: Session, events: list[Event]) -> None:
    routing.handler(_period())(session, events)


def queue_webhooks(session: Session, events: list[Event]) -> None:
    webhook_queue.queue(session, [e for e in events if e.kind in webhook_queue.KINDS])


def queue_mail(session: Session, events: list[Event]) -> None:
    mailer.queue(session, events)


register_consumer(ROUTE, "objects.stored", route, ordered=True)
register_consumer(WEBHOOKS, ">", queue_webhooks, ordered=True)
register_consumer(MAIL, routing.NOTIFICATION, queue_mail, ordered=True)
