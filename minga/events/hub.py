"""The fan-out behind `GET /api/stream`: one tailer per process, any number of subscribers.

The tailer reads the outbox after its position — at once when this process commits an event
or another process of the node rings its bell (`minga.events.wake`), else every
`stream_poll_seconds` — loads the batch once (`stream.load`) and hands the same batch to
every subscriber's bounded queue. Each subscriber keeps what its reader may see
(`stream.messages`, pure functions), so the database work does not grow with the readers.

A subscriber first catches up from where its reader resumes (Last-Event-ID) by reading the
outbox itself, then joins the tailer at the tailer's position, so nothing is missed and
nothing repeated. A subscriber whose queue fills (a reader too slow) is cut with a last
message carrying the `id:` to resume from: a reconnecting EventSource sends it back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import orjson
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from minga.events import outbox
from minga.events.stream import Batch, StreamFilters, messages, read
from minga.events.wake import Chorus
from minga.policy import Principal

log = logging.getLogger("minga.events")

EMITTED = "events.emitted"  # set on a session's info by `outbox.emit`
RETRY_MS = 2000  # how soon an EventSource reconnects after the stream ends


@dataclass(eq=False)
class Subscriber:
    principal: Principal
    filters: StreamFilters
    after: int  # the last seq this reader has been given (or resumed from)
    size: int
    pending: deque[Batch] = field(default_factory=deque)
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    cut: bool = False


class Hub:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        poll: float,
        queue: int,
        chorus: Chorus | None = None,
        batch: int = 500,
        tail: bool = True,
    ) -> None:
        self.sessions, self.poll, self.queue, self.batch = sessions, poll, queue, batch
        self.chorus = chorus
        self.tail = tail  # False: the caller drives `step` (tests)
        self.position = 0
        self.subscribers: set[Subscriber] = set()
        self.started = False
        self.closing = False  # the server is stopping: streams end, readers resume elsewhere
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._starting: asyncio.Future[None] | None = None

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Start tailing (in the running loop); every subscriber waits for it."""
        if self._starting is None:
            self._starting = asyncio.ensure_future(self._start())
        try:
            await asyncio.shield(self._starting)
        except Exception:  # the database was not there: the next reader tries again
            self._starting = None
            raise

    async def _start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self.position = await asyncio.to_thread(self._last)
        if not self.tail:
            self.started = True
            return
        self._end_streams_on_exit()
        event.listen(self.sessions, "after_commit", self._on_commit)
        if self.chorus is not None:
            self.chorus.listen(self.ring)
        self._task = self._loop.create_task(self._run(), name="minga-stream-tailer")
        self.started = True

    async def stop(self) -> None:
        if not self.started:
            return
        self.started, self._starting = False, None
        if not self.tail:
            return
        event.remove(self.sessions, "after_commit", self._on_commit)
        if self.chorus is not None:
            self.chorus.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def _end_streams_on_exit(self) -> None:
        """Streams never end by themselves, and the server waits for open answers before it
        stops: on SIGTERM/SIGINT each stream says goodbye (with where to resume) first."""
        if threading.current_thread() is not threading.main_thread():
            return  # a server in a thread (tests): its owner stops it
        for sig in (signal.SIGTERM, signal.SIGINT):
            previous = signal.getsignal(sig)
            if not callable(previous):
                continue

            def chained(signum: int, frame: object, previous: Callable = previous) -> None:
                self.close_streams()
                previous(signum, frame)

            signal.signal(sig, chained)

    def close_streams(self) -> None:
        """End every stream (from any thread, or a signal handler)."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._close_all)

    def _close_all(self) -> None:
        self.closing = True
        for sub in self.subscribers:
            sub.ready.set()

    def _on_commit(self, session: Session) -> None:
        if session.info.pop(EMITTED, False):
            self.ring()
            if self.chorus is not None:
                self.chorus.ring()

    def ring(self) -> None:
        """Wake the tailer (from any thread)."""
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop is closing
                loop.call_soon_threadsafe(wake.set)

    async def _run(self) -> None:
        assert self._wake is not None
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll)
            self._wake.clear()
            try:
                while await self.step() == self.batch:
                    pass
            except Exception:  # a bad database moment: the next round tries again
                log.exception("stream tailer round failed")

    # -- reading and handing out -------------------------------------------------------------

    def _last(self) -> int:
        with self.sessions() as session:
            return outbox.last_seq(session)

    def _read(self, after: int) -> Batch:
        with self.sessions() as session:
            return read(session, after, self.batch)

    async def step(self) -> int:
        """Read once after the position and hand the batch out; how many events it held."""
        if not self.subscribers:  # nobody listens: just follow the end
            self.position = max(self.position, await asyncio.to_thread(self._last))
            return 0
        batch = await asyncio.to_thread(self._read, self.position)
        if batch.events and batch.last > self.position:
            self.position = batch.last
            self.dispatch(batch)
        return len(batch.events)

    def dispatch(self, batch: Batch) -> None:
        for sub in list(self.subscribers):
            if len(sub.pending) >= sub.size:  # too slow: cut it, it resumes from `after`
                sub.cut = True
                sub.pending.clear()
                self.subscribers.discard(sub)
            else:
                sub.pending.append(batch)
            sub.ready.set()

    # -- one reader ------------------------------------------------------------------------------

    async def follow(
        self,
        principal: Principal,
        filters: StreamFilters,
        after: int | None,
        *,
        keepalive: float,
        still_valid: Callable[[], bool] | None = None,
    ) -> AsyncIterator[bytes]:
        """The SSE body of one reader: catch-up from `after`, then live batches."""
        await self.start()
        start = self.position if after is None else after
        sub = Subscriber(principal, filters, start, self.queue)
        yield f"retry: {RETRY_MS}\n: connected\n\n".encode()
        try:
            while sub.after < self.position:  # catch up from the outbox itself
                batch = await asyncio.to_thread(self._read, sub.after)
                if not batch.events:
                    break
                found = messages(principal, filters, batch, after=sub.after)
                sub.after = batch.last
                if found:
                    yield b"".join(m.encode() for m in found)
            self.subscribers.add(sub)  # no await since the check: joins at the position
            async for chunk in self._live(sub, keepalive, still_valid):
                yield chunk
        finally:
            self.subscribers.discard(sub)

    async def _live(
        self, sub: Subscriber, keepalive: float, still_valid: Callable[[], bool] | None
    ) -> AsyncIterator[bytes]:
        while True:
            if sub.cut:
                yield _last_word(sub.after, "too_slow", "this stream fell behind")
                return
            if self.closing:
                yield _last_word(sub.after, "closing", "this node process is stopping")
                return
            if not sub.pending:
                sub.ready.clear()
                try:
                    await asyncio.wait_for(sub.ready.wait(), keepalive)
                except TimeoutError:
                    if still_valid is not None and not await asyncio.to_thread(still_valid):
                        yield _last_word(sub.after, "signed_out", "your credentials ended")
                        return
                    yield b": keep-alive\n\n"
                continue
            batch = sub.pending.popleft()
            body = batch.body_for(sub.principal, sub.filters, sub.after)
            sub.after = max(sub.after, batch.last)
            if body:
                yield body


def _last_word(after: int, reason: str, why: str) -> bytes:
    """The message that ends a stream: its `id:` is where to resume (EventSource does)."""
    hint = f"{why}; reconnect with Last-Event-ID: {after} to resume without a gap"
    body = orjson.dumps({"reason": reason, "resume_after": after, "message": hint}).decode()
    return f"id: {after}\nevent: end\ndata: {body}\n\n".encode()
