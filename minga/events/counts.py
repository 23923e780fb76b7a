"""A bus consumer keeping how many events of each kind the node has seen, which `/metrics`
shows as `minga_events_total{kind=...}` (a gauge read from the database at each scrape, so
whichever process answers, the figure is the node's).

It runs `ordered` (one batch in flight, in seq order), so `last_seq` per kind tells a batch
delivered again (its worker stopped before the ack) from a new one: nothing is counted twice.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from minga.events.bus import register_consumer
from minga.events.bus_models import event_counts
from minga.events.outbox import Event

NAME = "event-counts"


def count_events(session: Session, events: list[Event]) -> None:
    """Add `events` to the per-kind counts, skipping those already counted."""
    kinds = sorted({e.kind for e in events})
    rows = session.execute(
        select(event_counts.c.kind, event_counts.c.last_seq)
        .where(event_counts.c.kind.in_(kinds))
        .with_for_update()
    ).all()
    seen = {kind: int(last) for kind, last in rows}
    added: Counter[str] = Counter()
    newest: dict[str, int] = {}
    for event in events:
        if event.seq > seen.get(event.kind, 0):
            added[event.kind] += 1
            newest[event.kind] = max(newest.get(event.kind, 0), event.seq)
    for kind, n in added.items():
        if kind in seen:
            session.execute(
                update(event_counts)
                .where(event_counts.c.kind == kind)
                .values(events=event_counts.c.events + n, last_seq=newest[kind])
            )
        else:
            session.execute(insert(event_counts).values(kind=kind, events=n, last_seq=newest[kind]))


def counts(session: Session) -> dict[str, int]:
    found = session.execute(select(event_counts.c.kind, event_counts.c.events))
    return {kind: int(n) for kind, n in found}


class EventCounts(Collector):
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def collect(self) -> Iterator[Metric]:
        with self.sessions() as session:
            found = counts(session)
        family = GaugeMetricFamily(
            "minga_events_total",
            "Events seen by the event-counts consumer, by kind.",
            labels=["kind"],
        )
        for kind, n in sorted(found.items()):
            family.add_metric([kind], n)
        yield family


register_consumer(NAME, ">", count_events, ordered=True)
