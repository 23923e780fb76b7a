"""Push stands aside while a peer pulls a backlog.

A peer that pulls and is pushed to (direction `both`, as most are) would otherwise get a new
or returning peer's whole backlog twice: once by its pull and once by this node's push, each
copy selected, sent and parsed, only for the second to be skipped on arrival. So serving a
pull page notes, per peer, the position the peer asked from (its pull cursor: everything up
to it is stored there, its cursor is committed with each page) and whether more followed.

Push then never sends what the peer's pull already covered (it moves `push_position` up to
that position), and sends nothing while the peer is still pulling (its last page had more,
and it asked less than `STAND_ASIDE` seconds ago). A peer that stops pulling half way is
pushed to again once that time is past, from the last position its pull covered: it still
gets every version. The note is a node setting, so it holds across `minga serve` workers.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import orjson
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from minga.accounts.models import NodeSetting

log = logging.getLogger("minga.federation")

STAND_ASIDE = 15.0  # seconds since a peer last asked for a page with more to follow
PREFIX = "federation_pulling:"


@dataclass(frozen=True, slots=True)
class Pulling:
    covered_us: int  # every version the peer may receive up to here is stored there
    more: bool  # the last page served had more to follow
    at: float  # when (epoch seconds) it asked


def note(session: Session, peer_id: int, covered_us: int, more: bool) -> None:
    """Note a pull page served to the peer (`covered_us`: the position it asked from), in a
    transaction of its own beside the serving read; skipped if the store is busy (push then
    merely sends copies the peer skips)."""
    value = orjson.dumps({"covered_us": covered_us, "more": more, "at": time.time()}).decode()
    with Session(bind=session.get_bind()) as apart:
        try:
            row = apart.get(NodeSetting, PREFIX + str(peer_id))
            if row is None:
                apart.add(NodeSetting(key=PREFIX + str(peer_id), value=value))
            else:
                old = _parse(row.value)
                if old is not None and not (old.more or more) and old.covered_us == covered_us:
                    return  # an idle pull round: nothing to note again
                row.value = value
            apart.commit()
        except SQLAlchemyError as exc:
            apart.rollback()
            log.info("federation: pull of peer %d not noted: %s", peer_id, exc)


def pulling(session: Session, peer_id: int) -> Pulling | None:
    """What the peer's pull last asked, if it ever pulled from this node."""
    row = session.get(NodeSetting, PREFIX + str(peer_id))
    return _parse(row.value) if row is not None else None


def push_from(found: Pulling | None, push_position: int, now: float | None = None) -> int | None:
    """Where push to the peer starts (past what its pull covered), or None: stand aside, the
    peer is pulling a backlog."""
    if found is None:
        return push_position
    if found.more and (now if now is not None else time.time()) - found.at < STAND_ASIDE:
        return None
    return max(push_position, found.covered_us)


def _parse(value: str) -> Pulling | None:
    try:
        doc = orjson.loads(value)
        return Pulling(int(doc["covered_us"]), bool(doc["more"]), float(doc["at"]))
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return None
