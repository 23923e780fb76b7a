"""The notify consumers and senders, run together in the background of `minga serve`.

One round: route new object events to constituencies and watch lists (which writes
notification events), queue webhook deliveries and e-mail for the events after their
cursors, then send what is due. Each consumer starts at the end of the outbox the first time
it runs, so a node that gains this feature does not announce its whole history.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, nullcontext
from dataclasses import dataclass

from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from minga.background import Periodic
from minga.events import cursors, mailer, outbox, routing, webhook_queue
from minga.events.cursors import Handler
from minga.events.models import event_cursors
from minga.events.outbox import Event
from minga.settings import Settings


@dataclass(frozen=True)
class Round:
    routed: int
    queued: int
    mailed_queue: int
    delivered: int
    mailed: int


def _handler(queue: Callable[[Session, list[Event]], int]) -> Handler:
    def handle(session: Session, batch: list[Event]) -> None:
        queue(session, batch)

    return handle


def _behind(sessions: sessionmaker[Session]) -> bool:
    """Has any notify consumer events left to read (or not started yet)? A read, so an idle
    node's rounds write nothing."""
    names = [routing.CONSUMER, webhook_queue.CONSUMER, mailer.CONSUMER]
    with sessions() as session:
        last = outbox.last_seq(session)
        query = select(event_cursors.c.name, event_cursors.c.seq)
        found = dict(session.execute(query.where(event_cursors.c.name.in_(names))).all())
    return any(found.get(name, -1) < last for name in names)


def run_once(sessions: sessionmaker[Session], settings: Settings) -> Round:
    if settings.event_bus or not _behind(sessions):
        # With the bus, `minga worker` queues (`minga.events.notify_bus`); this only sends.
        delivered = webhook_queue.send_due(sessions, settings)
        return Round(0, 0, 0, delivered, mailer.send_due(sessions, settings))
    routed = cursors.drain(
        sessions,
        routing.CONSUMER,
        routing.handler(settings.constituency_period_seconds),
        kinds=[outbox.OBJECTS],
        start_at_end=True,
    )
    queued = cursors.drain(
        sessions,
        webhook_queue.CONSUMER,
        _handler(webhook_queue.queue),
        kinds=webhook_queue.KINDS,
        start_at_end=True,
    )
    mail_queued = cursors.drain(
        sessions,
        mailer.CONSUMER,
        _handler(mailer.queue),
        kinds=[routing.NOTIFICATION],
        start_at_end=True,
    )
    delivered = webhook_queue.send_due(sessions, settings)
    mailed = mailer.send_due(sessions, settings)
    return Round(routed, queued, mail_queued, delivered, mailed)


def background(sessions: sessionmaker[Session], settings: Settings) -> Periodic:
    return Periodic("notify", settings.notify_seconds, lambda: run_once(sessions, settings))


@asynccontextmanager
async def notify_loop(app: FastAPI) -> AsyncIterator[None]:
    """While a one-process node serves, notify in its background (with several workers, the
    supervising process runs it instead: see `minga.serve`)."""
    node = app.state.node
    seconds = node.settings.notify_seconds
    with background(node.sessions, node.settings) if seconds > 0 else nullcontext():
        yield
