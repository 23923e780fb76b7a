"""Work a node does in the background while it serves: a daemon thread per periodic task."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger("minga")


class Periodic:
    """Run ``task`` every ``seconds`` in a daemon thread until stopped; an error (a bad
    database moment) is logged and the next round runs as usual."""

    def __init__(self, name: str, seconds: float, task: Callable[[], object]) -> None:
        self.name = name
        self.seconds = seconds
        self.task = task
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"minga-{name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the loop to end and wait up to ``timeout`` s for the round it runs."""
        self._stop.set()
        self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def __enter__(self) -> Periodic:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        while not self._stop.wait(self.seconds):
            try:
                self.task()
            except Exception:  # the loop must survive
                log.exception("background task %s failed", self.name)
