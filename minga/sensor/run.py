"""`minga sensor run`: pull the indicators the organisation may see from its node, match the
inputs once, and with --follow keep matching what the logs append (surviving rotation) while
pulling new indicators every --refresh seconds."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import orjson

from minga.sensor.alerts import Alert
from minga.sensor.follow import Followed
from minga.sensor.match import IndicatorIndex, Match
from minga.sensor.node import NodeIndicators
from minga.sensor.outbox import Position
from minga.sensor.readers import KINDS, Batch
from minga.sensor.report import NodeUnavailable, Reporter, Sent
from minga.taxii.client import RemoteError

CURRENT_LOG = re.compile(r"[A-Za-z0-9_-]+\.log")


class InputError(Exception):
    """An --input the sensor cannot use: one sentence."""


@dataclass
class Input:
    kind: str
    path: str

    @classmethod
    def parse(cls, spec: str) -> Input:
        kind, sep, path = spec.partition(":")
        if not sep or kind not in KINDS or not path:
            raise InputError(f"--input {spec!r}: use KIND:PATH with KIND one of {', '.join(KINDS)}")
        if not os.path.exists(path):
            raise InputError(f"--input {spec!r}: {path} does not exist")
        return cls(kind, path)

    def files(self) -> list[str]:
        """A directory means Zeek's current logs in it (conn.log, dns.log, ..., new ones
        included), not its rotated copies (conn.2024-03-01-10-00-00.log, conn.log.1)."""
        if not os.path.isdir(self.path):
            return [self.path]
        names = sorted(n for n in os.listdir(self.path) if CURRENT_LOG.fullmatch(n))
        return [os.path.join(self.path, n) for n in names]


@dataclass
class Sensor:
    node: NodeIndicators
    inputs: list[Input]
    on_batch: Callable[[Batch, list[Match]], None]
    on_warning: Callable[[str], None]
    followers: dict[str, Followed] = field(default_factory=dict)
    index: IndicatorIndex | None = None
    # With --report: sightings and alerts go to the node through the on-disk outbox.
    reporter: Reporter | None = None
    alert_files: list[AlertFile] = field(default_factory=list)
    on_sent: Callable[[Sent], None] = lambda _: None

    def pull(self) -> int:
        changed = self.node.refresh()
        if changed or self.index is None:
            self.index = self.node.index()
        return changed

    def poll(self) -> None:
        saved = self.reporter.outbox.positions() if self.reporter and not self.followers else {}
        for each in self.inputs:
            for path in each.files():
                if path not in self.followers:
                    self.followers[path] = follower = Followed(path, kind=each.kind)
                    if (at := saved.get(path)) is not None:
                        follower.resume(at.inode, at.offset, at.lines, at.header, at.kind)
        assert self.index is not None
        for follower in self.followers.values():
            for batch in follower.poll():
                found = list(self.index.match(batch))
                self.on_batch(batch, found)
                if self.reporter is not None:
                    self.reporter.seen(batch, found)
            while follower.errors:
                self.on_warning(follower.errors.pop(0))
        if self.reporter is not None:
            for alerts in self.alert_files:
                for alert in alerts.poll(self.on_warning):
                    self.reporter.alert(alert)
            self.reporter.checkpoint(self._positions())
            self.send()

    def _positions(self) -> dict[str, Position]:
        return {
            path: Position(f.inode, f.offset, f.lines, f.header, f.kind)
            for path, f in self.followers.items()
            if f.inode is not None
        }

    def send(self, force: bool = False) -> None:
        assert self.reporter is not None
        try:
            sent = self.reporter.flush(force)
        except NodeUnavailable as exc:
            self.on_warning(f"not reported yet (kept in the queue): {exc}")
            return
        if sent.sightings or sent.alerts or sent.refused:
            self.on_sent(sent)

    def run(self, follow: bool, interval: float, refresh: float, duration: float | None) -> None:
        self.poll()
        if not follow:
            return
        started = last_pull = time.monotonic()
        while duration is None or time.monotonic() - started < duration:
            time.sleep(interval)
            if time.monotonic() - last_pull >= refresh:
                last_pull = time.monotonic()
                try:
                    self.pull()
                except RemoteError as exc:  # keep matching with what we have
                    self.on_warning(f"indicators not refreshed: {exc}")
            self.poll()
        self.poll()
        if self.reporter is not None:
            self.send(force=True)

    def close(self) -> None:
        for follower in self.followers.values():
            follower.close()
        self.node.close()
        if self.reporter is not None:
            self.reporter.close()
            self.reporter.outbox.close()


@dataclass
class AlertFile:
    """Alerts another program writes, one JSON object a line (`Alert.as_json`): each line is
    read once, as it is appended (a file that shrinks is read again from its start)."""

    path: str
    offset: int = 0
    line: int = 0

    def poll(self, warn: Callable[[str], None]) -> list[Alert]:
        try:
            with open(self.path, "rb") as fh:
                if os.fstat(fh.fileno()).st_size < self.offset:
                    self.offset = self.line = 0
                fh.seek(self.offset)
                chunk = fh.read()
        except FileNotFoundError:
            return []
        chunk = chunk[: chunk.rfind(b"\n") + 1]
        self.offset += len(chunk)
        found = []
        for raw in chunk.splitlines():
            self.line += 1
            if not raw.strip():
                continue
            try:
                found.append(Alert.from_json(orjson.loads(raw)))
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
                warn(f"{self.path}:{self.line}: not an alert (skipped)")
        return found
