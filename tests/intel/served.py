"""`minga serve` as a separate process on 127.0.0.1 (a free port), for multi-process tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Served:
    """One `minga serve` process on `database_url`; entering yields its base URL."""

    def __init__(
        self,
        database_url: str,
        log: Path,
        workers: int = 1,
        env: dict[str, str] | None = None,
        port: int = 0,
    ) -> None:
        self.database_url = database_url
        self.workers = workers
        self.env = env or {}
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None
        self.port = port  # 0: a free port at each start; else this one (a restart keeps it)
        self.fixed_port = port

    def start(self) -> None:
        """Start the process (`__enter__` waits until it answers)."""
        self.port = self.fixed_port or free_port()
        env = {
            **os.environ,
            "MINGA_DATABASE_URL": self.database_url,
            "MINGA_TAXII_PULL_CHECK_SECONDS": "0",
            "MINGA_INGEST_WORKER_SECONDS": "0",
            "MINGA_SECRET_KEY": "test-only-key",
            "MINGA_LOG_LEVEL": "warning",
            **self.env,
        }
        code = "import sys; from minga.cli import main; sys.argv[0] = 'minga'; main()"
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    code,
                    "serve",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--workers",
                    str(self.workers),
                ],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def __enter__(self) -> str:
        if self.process is None:
            self.start()
        assert self.process is not None
        url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 180  # a busy machine starts several workers slowly
        while True:
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.__exit__()
                raise RuntimeError(f"minga serve did not start: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{url}/api/health", timeout=2).status_code == 200:
                    return url
            except httpx.HTTPError:
                pass
            time.sleep(0.1)

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=3)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
