"""The doorbell: a commit in one process of a node wakes the sync loop held by another."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

from minga.federation.doorbell import Doorbell, bell_path


def test_a_ring_from_another_process_wakes_the_holder(tmp_path: Path) -> None:
    path = tmp_path / "node.bell"
    heard = threading.Event()
    holder = Doorbell(path)
    holder.listen(heard.set)
    try:
        code = (
            "from pathlib import Path; from minga.federation.doorbell import Doorbell;"
            f" Doorbell(Path({str(path)!r})).ring()"
        )
        subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
        assert heard.wait(5)
    finally:
        holder.close()
    assert not path.exists()


def test_a_new_holder_takes_the_bell_over_and_the_old_one_leaves_it_alone(
    tmp_path: Path,
) -> None:
    path = tmp_path / "node.bell"
    old_heard, new_heard = threading.Event(), threading.Event()
    old, new, ringer = Doorbell(path), Doorbell(path), Doorbell(path)
    old.listen(old_heard.set)
    new.listen(new_heard.set)  # the lease moved: the new holder binds anew
    ringer.ring()
    assert new_heard.wait(5)
    assert not old_heard.is_set()
    old.close()  # the former holder must not unlink the new holder's bell
    assert path.exists()
    new_heard.clear()
    ringer.ring()
    assert new_heard.wait(5)
    old.listen(old_heard.set)  # it holds the lease again: it rebinds, since the bell is not its own
    new_heard.clear()
    ringer.ring()
    assert old_heard.wait(5)
    for bell in (old, new, ringer):
        bell.close()


def test_ringing_with_nobody_listening_is_harmless(tmp_path: Path) -> None:
    Doorbell(tmp_path / "nobody.bell").ring()  # no error: the poll will pick the change up


def test_each_node_has_its_own_bell() -> None:
    assert bell_path("sqlite:///a.db", "gt") != bell_path("sqlite:///b.db", "gt")
    assert bell_path("sqlite:///a.db", "gt") != bell_path("sqlite:///a.db", "cr")
    assert len(str(bell_path("postgresql://u:secret@h/db", "gt"))) < 100  # AF_UNIX limit
    assert "secret" not in str(bell_path("postgresql://u:secret@h/db", "gt"))
