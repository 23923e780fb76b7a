"""Push stands aside while the peer pulls a backlog, and still delivers everything when the
peer stops pulling half way (in-process nodes, SQLite)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import func, select, update

from minga.accounts.models import NodeSetting
from minga.federation import backlog
from minga.federation.collection import collection_url
from minga.federation.models import Arrival
from minga.federation.pull import _store_page, get_page
from minga.federation.push import token_of
from tests.federation.localnodes import URL, LocalNode, connect, sqlite_copy, start_node


def indicator(n: int) -> dict[str, Any]:
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--{uuid.UUID(int=n + 7000, version=4)}",
        "created": "2026-12-01T10:00:00.000Z",
        "modified": "2026-12-01T10:00:00.000Z",
        "name": f"Backlog indicator {n}",
        "pattern": f"[domain-name:value = 'backlog{n}.example']",
        "pattern_type": "stix",
        "valid_from": "2026-12-01T10:00:00Z",
    }


@pytest.fixture
def pair(sqlite_template: Path, tmp_path: Path) -> Iterator[tuple[LocalNode, LocalNode]]:
    a = start_node("a", sqlite_copy(sqlite_template, tmp_path), "GT")
    b = start_node("b", sqlite_copy(sqlite_template, tmp_path), "CR")
    connect(a, b)
    for n in range(5):
        a.publish(indicator(n))
    yield a, b
    a.close()
    b.close()


def arrivals(node: LocalNode) -> dict[str, int]:
    with node.sessions() as s:
        rows = s.execute(select(Arrival.stix_id, func.count()).group_by(Arrival.stix_id)).all()
        return {r[0]: int(r[1]) for r in rows}


def test_push_stands_aside_then_sends_what_an_interrupted_pull_left(
    pair: tuple[LocalNode, LocalNode],
) -> None:
    a, b = pair
    peer = b.peer("a")
    url, token = collection_url(URL), token_of(peer)
    every = get_page(a.client, url, token, None, 100)[0]  # the indicators and a's identity
    first, more, last = get_page(a.client, url, token, None, 2)
    assert more and len(first) == 2
    _store_page(b.sessions, b.settings, peer.id, first, last)
    second, more, _ = get_page(a.client, url, token, last, 2)  # asks from its cursor, not stored
    assert more and len(second) == 2

    assert a.push(b).sent == 0  # b is pulling its backlog: nothing pushed meanwhile

    with a.sessions() as s:  # b stops pulling; STAND_ASIDE seconds pass
        key = backlog.PREFIX + str(a.peer("b").id)
        note = orjson.loads(s.get(NodeSetting, key).value)  # type: ignore[union-attr]
        note["at"] = time.time() - backlog.STAND_ASIDE - 1
        s.execute(
            update(NodeSetting)
            .where(NodeSetting.key == key)
            .values(value=orjson.dumps(note).decode())
        )
        s.commit()
    pushed = a.push(b)
    assert pushed.sent == len(every) - 2  # past what b's pull stored, every version it did not
    wanted = {indicator(n)["id"] for n in range(5)}
    got = arrivals(b)
    assert wanted <= set(got) and all(got[i] == 1 for i in wanted)


def test_push_moves_past_what_a_finished_pull_covered(pair: tuple[LocalNode, LocalNode]) -> None:
    a, b = pair
    assert b.pull(a, limit=2).stored >= 5
    b.pull(a)  # the next round asks from the end: all of it is stored at b
    assert a.push(b).sent == 0
    with a.sessions() as s:
        assert a.peer("b").push_position > 0
        assert s.get(NodeSetting, backlog.PREFIX + str(a.peer("b").id)) is not None
    a.publish(indicator(9))  # what comes next is pushed as before
    assert a.push(b).sent == 1
    assert arrivals(b)[indicator(9)["id"]] == 1


def test_where_push_starts() -> None:
    now = 1000.0
    assert backlog.push_from(None, 7, now) == 7
    pulling = backlog.Pulling(covered_us=50, more=True, at=now - 1)
    assert backlog.push_from(pulling, 7, now) is None
    stopped = backlog.Pulling(covered_us=50, more=True, at=now - backlog.STAND_ASIDE - 1)
    assert backlog.push_from(stopped, 7, now) == 50
    done = backlog.Pulling(covered_us=50, more=False, at=now - 1)
    assert backlog.push_from(done, 70, now) == 70
    assert backlog.push_from(done, 7, now) == 50
