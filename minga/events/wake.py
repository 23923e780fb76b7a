"""A wake-up for the stream tailers of every process of one node on this machine.

Each process binds its own bell (`minga.federation.doorbell.Doorbell`) in a folder derived
from the node's database; a process that commits an event rings every bell there. Ringing
never blocks nor fails a commit: a process on another machine (over PostgreSQL), or a bell
that is gone, only means its tailer's short poll picks the events up. A bell file left by a
dead process refuses the ring and is removed.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import tempfile
from collections.abc import Callable
from pathlib import Path

from minga.federation.doorbell import Doorbell


def chorus_folder(database_url: str, node_name: str) -> Path:
    digest = hashlib.sha256(f"{node_name}\0{database_url}".encode()).hexdigest()[:20]
    return Path(tempfile.gettempdir()) / f"minga-{digest}.streams"


class Chorus:
    def __init__(self, folder: Path, name: str | None = None) -> None:
        self.folder = folder
        self.mine = folder / f"{name or os.getpid()}.bell"
        self._bell = Doorbell(self.mine)
        self._send: socket.socket | None = None
        self.supported = self._bell.supported

    def listen(self, on_ring: Callable[[], None]) -> None:
        if not self.supported:
            return
        with contextlib.suppress(OSError):
            self.folder.mkdir(mode=0o700, exist_ok=True)
        self._bell.listen(on_ring)

    def ring(self) -> None:
        """Wake the other processes' tailers (this process wakes its own directly)."""
        if not self.supported:
            return
        try:
            if self._send is None:
                self._send = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                self._send.setblocking(False)
            bells = [p for p in os.scandir(self.folder) if p.name.endswith(".bell")]
        except OSError:
            return
        for bell in bells:
            if bell.path == str(self.mine):
                continue
            try:
                self._send.sendto(b"1", bell.path)
            except ConnectionRefusedError:  # its process is gone
                with contextlib.suppress(OSError):
                    os.unlink(bell.path)
            except OSError:  # its queue is full (it is awake already), or it just went
                pass

    def close(self) -> None:
        self._bell.close()
        if self._send is not None:
            self._send.close()
            self._send = None
