"""`minga sensor run`: pull the indicators the organisation may see from its node, match the
inputs once, and with --follow keep matching what the logs append (surviving rotation) while
pulling new indicators every --refresh seconds."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from minga.sensor.follow import Followed
from minga.sensor.match import IndicatorIndex, Match
from minga.sensor.node import NodeIndicators
from minga.sensor.readers import KINDS, Batch
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

    def pull(self) -> int:
        changed = self.node.refresh()
        if changed or self.index is None:
            self.index = self.node.index()
        return changed

    def poll(self) -> None:
        for each in self.inputs:
            for path in each.files():
                if path not in self.followers:
                    self.followers[path] = Followed(path, kind=each.kind)
        assert self.index is not None
        for follower in self.followers.values():
            for batch in follower.poll():
                self.on_batch(batch, list(self.index.match(batch)))
            while follower.errors:
                self.on_warning(follower.errors.pop(0))

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

    def close(self) -> None:
        for follower in self.followers.values():
            follower.close()
        self.node.close()
