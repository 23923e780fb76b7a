"""The bells between the processes of one node: a commit in one wakes the others' tailers."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

from minga.events.wake import Chorus, chorus_folder


def test_a_ring_wakes_every_other_process_and_clears_dead_bells(tmp_path: Path) -> None:
    folder = tmp_path / "bells"
    woken = {name: threading.Event() for name in ("a", "b")}
    choruses = {name: Chorus(folder, name) for name in ("a", "b")}
    for name, chorus in choruses.items():
        chorus.listen(woken[name].set)
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    dead.bind(str(folder / "gone.bell"))  # a process that died without cleaning up
    dead.close()
    choruses["a"].ring()
    assert woken["b"].wait(10)
    assert not woken["a"].is_set()  # a process wakes its own tailer directly
    assert not (folder / "gone.bell").exists()
    for chorus in choruses.values():
        chorus.close()
    assert sorted(p.name for p in folder.iterdir()) == []


def test_each_node_has_its_own_bells() -> None:
    one = chorus_folder("sqlite:////srv/a.db", "node-a")
    assert one == chorus_folder("sqlite:////srv/a.db", "node-a")
    assert one != chorus_folder("sqlite:////srv/b.db", "node-a")
    assert one != chorus_folder("sqlite:////srv/a.db", "node-b")
