"""A doorbell between the processes of one node: a commit in any `minga serve` worker wakes
the federation sync loop, which runs in whichever process holds the node lease.

Without it, versions committed by another process waited for the loop's poll
(`federation_sync_seconds`, 0.5 s), up to once per hop. The bell is a Unix datagram socket
whose path is derived from the node's database (so two nodes on one machine never share
one); the lease holder binds it, every process rings it after a commit. Ringing never blocks
and never fails a commit: a missing listener (no lease holder yet, another machine over
PostgreSQL) only means the poll picks the change up, as before. A datagram from anyone else
on the machine can only cause an extra sync round, which is harmless.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import socket
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger("minga.federation")


def bell_path(database_url: str, node_name: str) -> Path:
    digest = hashlib.sha256(f"{node_name}\0{database_url}".encode()).hexdigest()[:20]
    return Path(tempfile.gettempdir()) / f"minga-{digest}.bell"


class Doorbell:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._send: socket.socket | None = None
        self._listening: socket.socket | None = None
        self._inode = 0
        self._lock = threading.Lock()
        self.supported = hasattr(socket, "AF_UNIX")

    def ring(self) -> None:
        if not self.supported:
            return
        try:
            if self._send is None:
                self._send = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                self._send.setblocking(False)
            self._send.sendto(b"1", str(self.path))
        except OSError:  # nobody listening, or its queue is full: it is awake already
            pass

    def listen(self, on_ring: Callable[[], None]) -> None:
        """Hold the bell: bind it (taking it over from a former holder) unless this process
        already has it bound, and call `on_ring` per ring. Cheap when nothing changed."""
        if not self.supported:
            return
        with self._lock:
            if self._listening is not None and self._bound_here():
                return
            self._drop()
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)
            try:
                sock.bind(str(self.path))
                self._inode = os.stat(self.path).st_ino
            except OSError as exc:
                sock.close()
                log.info("federation: no doorbell at %s (%s); polling only", self.path, exc)
                return
            self._listening = sock
        threading.Thread(
            target=self._receive, args=(sock, on_ring), name="minga-doorbell", daemon=True
        ).start()

    def release(self) -> None:
        """Stop listening (the lease went to another process, which binds the bell anew)."""
        with self._lock:
            self._drop()

    def _bound_here(self) -> bool:
        try:
            return os.stat(self.path).st_ino == self._inode
        except OSError:
            return False

    def _drop(self) -> None:
        sock, self._listening = self._listening, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _receive(self, sock: socket.socket, on_ring: Callable[[], None]) -> None:
        while True:
            try:
                sock.recv(64)
            except OSError:  # closed by `close`
                return
            on_ring()

    def close(self) -> None:
        with self._lock:
            held = self._listening is not None and self._bound_here()
            self._drop()
            if held:
                with contextlib.suppress(OSError):
                    os.unlink(self.path)
        if self._send is not None:
            self._send.close()
            self._send = None
