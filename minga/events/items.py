"""What an event means to one reader: the object versions it announced that the reader may see.

Delivery-time filtering, shared by every consumer that tells a person or a machine something
(streams, webhooks, e-mail, watch lists, constituency routing): `load` reads the rows behind a
batch of events once, and `visible` decides per reader with `policy.may_see` — a pure function,
so a thousand subscribers cost one query per batch, not one each.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from minga.correlate.score_models import indicator_scores
from minga.events import outbox
from minga.events.outbox import Event
from minga.intel.models import object_groups, objects
from minga.policy import TLP_RANK, Marking, Principal, Reach, Tlp, may_see, real_only

OBJECT = "object"  # a new object or a new version
REVOKED = "revoked"
SIGHTING = "sighting"


@dataclass(frozen=True)
class Item:
    """One object version an event announced, with what decides who may see it."""

    seq: int
    what: str  # OBJECT, REVOKED or SIGHTING
    stix_id: str
    type: str
    modified: str
    marking: Marking
    origin_node: str | None
    score: int | None
    obj: dict[str, Any] = field(repr=False)

    @property
    def tlp(self) -> Tlp:
        return self.marking.tlp

    @property
    def name(self) -> str:
        return str(self.obj.get("name") or self.obj.get("value") or self.obj.get("pattern") or "")

    def as_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "event": self.what,
            "id": self.stix_id,
            "type": self.type,
            "modified": self.modified,
            "tlp": self.tlp.value,
            "score": self.score,
            "origin_node": self.origin_node,
            "object": self.obj,
        }


@dataclass(frozen=True)
class Filters:
    """What a reader asked for: STIX types, the highest TLP, the lowest score (indicators)."""

    types: frozenset[str] = frozenset()
    max_tlp: Tlp | None = None
    min_score: int | None = None

    def wants(self, item: Item) -> bool:
        if self.types and item.type not in self.types:
            return False
        if self.max_tlp is not None and TLP_RANK[item.tlp] > TLP_RANK[self.max_tlp]:
            return False
        if self.min_score is not None and item.type == "indicator":
            return item.score is not None and item.score >= self.min_score
        return True


def load(session: Session, batch: Iterable[Event]) -> list[Item]:
    """Every object version the object events of `batch` announced, oldest first."""
    ranges = [
        (e.seq, e.first_us, e.last_us)
        for e in batch
        if e.kind == outbox.OBJECTS and e.first_us is not None and e.last_us is not None
    ]
    if not ranges:
        return []
    rows = session.execute(
        select(
            objects.c.pk,
            objects.c.stix_id,
            objects.c.type,
            objects.c.modified,
            objects.c.added_us,
            objects.c.owner_org_id,
            objects.c.tlp,
            objects.c.reach,
            objects.c.has_groups,
            objects.c.origin_node,
            objects.c.revoked,
            objects.c.raw,
            indicator_scores.c.score,
        )
        .outerjoin(indicator_scores, indicator_scores.c.stix_id == objects.c.stix_id)
        .where(or_(*(and_(objects.c.added_us.between(a, b)) for _, a, b in ranges)))
        .where(real_only(objects))  # a drill's objects are announced to nobody
        .order_by(objects.c.added_us)
    ).all()
    grouped = [r.pk for r in rows if r.has_groups]
    groups: dict[int, set[int]] = defaultdict(set)
    for start in range(0, len(grouped), 500):
        chunk = grouped[start : start + 500]
        query = select(object_groups).where(object_groups.c.object_pk.in_(chunk))
        for link in session.execute(query):
            groups[link.object_pk].add(link.group_id)
    items = []
    for row in rows:
        seq = next(s for s, a, b in ranges if a <= row.added_us <= b)
        what = SIGHTING if row.type == "sighting" else REVOKED if row.revoked else OBJECT
        marking = Marking(
            row.owner_org_id, Tlp(row.tlp), Reach(row.reach), frozenset(groups.get(row.pk, ()))
        )
        items.append(
            Item(
                seq=seq,
                what=what,
                stix_id=row.stix_id,
                type=row.type,
                modified=row.modified,
                marking=marking,
                origin_node=row.origin_node,
                score=row.score,
                obj=orjson.loads(row.raw),
            )
        )
    return items


def visible(
    principal: Principal, items: Iterable[Item], filters: Filters = Filters()
) -> list[Item]:
    """The items `principal` may see and asked for."""
    return [i for i in items if may_see(principal, i.marking) and filters.wants(i)]
