"""The fan-out hub on both backends: one tailer hands batches to every reader; a reader that
falls behind is cut with the id to resume from, and resuming from it loses nothing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import orjson
from sqlalchemy.orm import Session, sessionmaker

from minga.events.hub import Hub
from minga.events.stream import StreamFilters
from minga.intel import service as intel
from minga.policy import Tlp
from tests.conftest import Member, add_member
from tests.factories import indicator, sid


def _messages(chunk: bytes) -> list[dict]:
    """The (id, event, data) of each message in a chunk of the SSE body."""
    found = []
    for block in chunk.decode().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if line and line[0] != ":")
        if "event" in fields:
            found.append({**fields, "data": orjson.loads(fields["data"])})
    return found


def _write(sessions: sessionmaker[Session], who: Member, n: int) -> None:
    with sessions() as s:
        intel.create_objects(s, who.principal, [indicator(n)], tlp=Tlp.GREEN)
        s.commit()


async def _joined(hub: Hub, body: AsyncIterator[bytes]) -> asyncio.Task[bytes]:
    """Start reading `body` past its first comment and wait until the reader has joined."""
    assert b": connected" in await anext(body)
    task = asyncio.ensure_future(anext(body))
    while not hub.subscribers:
        await asyncio.sleep(0.01)
    return task


def test_a_reader_too_slow_is_cut_with_where_to_resume(sessions: sessionmaker[Session]) -> None:
    cr = add_member(sessions, "CSIRT-CR")

    async def scenario() -> tuple[list[dict], list[dict], list[dict]]:
        hub = Hub(sessions, poll=1, queue=2, tail=False)  # the test drives `step`
        slow = hub.follow(cr.principal, StreamFilters(), None, keepalive=3600)
        first = await _joined(hub, slow)
        _write(sessions, cr, 1)
        await hub.step()
        got = _messages(await first)  # then it stops reading
        for n in (2, 3, 4):
            _write(sessions, cr, n)
            await hub.step()
        assert not hub.subscribers  # cut at the third batch it did not take
        end = _messages(await anext(slow))
        resume_at = int(end[0]["id"])
        again = hub.follow(cr.principal, StreamFilters(), resume_at, keepalive=3600)
        assert b": connected" in await anext(again)
        rest = _messages(await anext(again))  # the catch-up, from the outbox
        await slow.aclose()
        await again.aclose()
        await hub.stop()
        return got, end, rest

    got, end, rest = asyncio.run(scenario())
    assert [m["data"]["id"] for m in got] == [sid("indicator", 1)]
    assert end[0]["event"] == "end" and end[0]["data"]["reason"] == "too_slow"
    assert end[0]["id"] == got[0]["id"] == str(end[0]["data"]["resume_after"])
    assert "Last-Event-ID" in end[0]["data"]["message"]
    assert [m["data"]["id"] for m in rest] == [sid("indicator", n) for n in (2, 3, 4)]


def test_one_batch_reaches_every_reader_filtered_for_each(
    sessions: sessionmaker[Session],
) -> None:
    cr = add_member(sessions, "CSIRT-CR")
    gt = add_member(sessions, "CSIRT-GT", country="GT")

    async def scenario() -> tuple[list[dict], list[dict]]:
        hub = Hub(sessions, poll=1, queue=8, tail=False)
        a = hub.follow(cr.principal, StreamFilters(), None, keepalive=3600)
        wait_a = await _joined(hub, a)
        b = hub.follow(gt.principal, StreamFilters(), None, keepalive=3600)
        assert b": connected" in await anext(b)
        wait_b = asyncio.ensure_future(anext(b))
        while len(hub.subscribers) < 2:
            await asyncio.sleep(0.01)
        with sessions() as s:
            intel.create_objects(s, cr.principal, [indicator(1)], tlp=Tlp.RED)
            intel.create_objects(s, cr.principal, [indicator(2)], tlp=Tlp.GREEN)
            s.commit()
        assert await hub.step() == 2  # two events, read once for both readers
        got = _messages(await wait_a), _messages(await wait_b)
        await a.aclose()
        await b.aclose()
        await hub.stop()
        return got

    for_cr, for_gt = asyncio.run(scenario())
    assert [m["data"]["id"] for m in for_cr] == [sid("indicator", 1), sid("indicator", 2)]
    assert [m["data"]["id"] for m in for_gt] == [sid("indicator", 2)]


def test_streams_say_where_to_resume_when_the_node_stops(sessions: sessionmaker[Session]) -> None:
    cr = add_member(sessions, "CSIRT-CR")

    async def scenario() -> list[dict]:
        hub = Hub(sessions, poll=1, queue=8, tail=False)
        body = hub.follow(cr.principal, StreamFilters(), None, keepalive=3600)
        waiting = await _joined(hub, body)
        hub.close_streams()  # what SIGTERM does in `minga serve`
        last = _messages(await waiting)
        await body.aclose()
        return last

    last = asyncio.run(scenario())
    assert [m["event"] for m in last] == ["end"]
    assert last[0]["data"]["reason"] == "closing" and int(last[0]["id"]) >= 0
