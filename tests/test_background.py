"""Background loops: run periodically, survive a failing round, stop when asked."""

from __future__ import annotations

import threading

import pytest

from minga.background import Periodic


def test_a_failing_round_is_logged_and_the_loop_goes_on(caplog: pytest.LogCaptureFixture):
    rounds: list[int] = []
    third = threading.Event()

    def task() -> None:
        rounds.append(len(rounds))
        if len(rounds) == 1:
            raise RuntimeError("database away")
        if len(rounds) == 3:
            third.set()

    loop = Periodic("test-loop", 0.01, task)
    loop.start()
    assert third.wait(10), "the loop stopped after a failing round"
    loop.stop()
    assert not loop.running
    assert "background task test-loop failed" in caplog.text
    assert "database away" in caplog.text
