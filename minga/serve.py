"""`minga serve`: the node in one process, or in `--workers N` processes sharing one port.

Several workers run under uvicorn's supervisor, which restarts a worker that dies; each worker
builds its app from the `MINGA_*` environment (`worker_app`). Work that must run once per node,
not once per worker (the ingest queue, scheduled TAXII pulls), runs in the supervising process,
and the workers are told to leave it alone. A worker ends with its supervisor, even a killed one.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib.util
import logging
import os
import secrets
import shutil
import signal
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI
from sqlalchemy import Engine

from minga.accounts.node import token_key
from minga.app import create_app
from minga.db import make_sessionmaker, unit_of_work
from minga.errors import MingaError
from minga.ops import logs, metrics
from minga.settings import Settings

log = logging.getLogger("minga")

PARENT_ENV = "_MINGA_SERVE_PARENT"  # the supervisor's pid, as the workers see it
PR_SET_PDEATHSIG = 1


def worker_app() -> FastAPI:
    """The app of one worker process (uvicorn calls it in each worker)."""
    _end_with_parent()
    bound_malloc_arenas()
    return create_app(Settings())


M_ARENA_MAX = -8  # glibc's mallopt parameter


def bound_malloc_arenas(arenas: int = 2) -> None:
    """At most `arenas` malloc arenas in this process (glibc). By default each thread that
    allocates may get its own, up to 8 per core: with the thread pool's 40 threads a worker
    keeps hundreds of MB of freed memory resident, which counts against its memory bound."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):  # not glibc
        ctypes.CDLL(None).mallopt(M_ARENA_MAX, arenas)


def _end_with_parent() -> None:
    parent = os.environ.get(PARENT_ENV)
    if parent is None or not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != int(parent):  # the supervisor died before the line above took effect
        os._exit(1)


def run(settings: Settings, engine: Engine, *, host: str, port: int, workers: int) -> None:
    """Serve until stopped; `engine` is on the migrated database."""
    sessions = make_sessionmaker(engine)
    with unit_of_work(sessions) as session:
        token_key(session)  # made once here, not raced for by the workers' first requests
    if workers <= 1:
        bound_malloc_arenas()
        application = create_app(settings, engine=engine)
        uvicorn.run(application, host=host, port=port, **_uvicorn_options(settings))
        return
    if settings.is_sqlite and settings.sqlite_path() is None:
        raise MingaError("several workers need a database file or PostgreSQL, not :memory:")
    env = {
        PARENT_ENV: str(os.getpid()),
        "MINGA_WORKERS": str(workers),
        "MINGA_INGEST_WORKER_SECONDS": "0",
        "MINGA_TAXII_PULL_CHECK_SECONDS": "0",
        "MINGA_SCORE_REFRESH_SECONDS": "0",
        "MINGA_NOTIFY_SECONDS": "0",
        "MINGA_EXERCISE_TICK_SECONDS": "0",
    }
    if not settings.secret_key:
        if settings.sqlite_path() is None:
            log.warning("MINGA_SECRET_KEY is empty: web sessions end when the node restarts")
            env["MINGA_SECRET_KEY"] = secrets.token_hex(32)  # one key for all the workers
        else:
            from minga.web.auth import signing_key

            signing_key(settings)  # its key file is written before the workers read it
    shared = os.environ.get(metrics.MULTIPROC_ENV)
    if shared:
        metrics.fresh_multiproc_dir(Path(shared))
    else:  # the workers add up their request metrics through files here (minga/ops/metrics.py)
        env[metrics.MULTIPROC_ENV] = tempfile.mkdtemp(prefix="minga-metrics-")
    os.environ.update(env)
    with ExitStack() as background:
        if not shared:
            background.callback(shutil.rmtree, env[metrics.MULTIPROC_ENV], ignore_errors=True)
        _start_background(background, settings, engine)
        uvicorn.run(
            "minga.serve:worker_app",
            factory=True,
            workers=workers,
            host=host,
            port=port,
            **_uvicorn_options(settings),
            # A worker's first answer waits for its imports, seconds on a busy machine.
            timeout_worker_healthcheck=60,
        )


def _uvicorn_options(settings: Settings) -> dict[str, Any]:
    """Log level and format, HTTPS when a certificate is set, and the fastest HTTP parser and
    event loop installed (httptools, uvloop; uvicorn's pure-Python ones otherwise). The access
    log is written only at log level info or debug: below that it is filtered out anyway, after
    being formatted for every request."""
    options: dict[str, Any] = {
        "log_level": settings.log_level,
        "access_log": settings.log_level.lower() in ("info", "debug", "trace"),
        "http": "httptools" if _installed("httptools") else "h11",
        "loop": "uvloop" if _installed("uvloop") else "asyncio",
    }
    if settings.log_format == "json":
        options["log_config"] = logs.uvicorn_config(settings.log_level)
    if settings.tls_cert_file:
        options["ssl_certfile"] = settings.tls_cert_file
        options["ssl_keyfile"] = settings.tls_key_file
    return options


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _start_background(stack: ExitStack, settings: Settings, engine: Engine) -> None:
    from minga.ingest import jobs
    from minga.taxii import puller

    sessions = make_sessionmaker(engine)
    if settings.ingest_worker_seconds > 0 and not settings.event_bus:  # else `minga worker`
        stack.enter_context(jobs.worker(sessions, settings.ingest_worker_seconds))
    if settings.taxii_pull_check_seconds > 0:
        stack.enter_context(puller.scheduler(sessions, settings.taxii_pull_check_seconds))
    if settings.score_refresh_seconds > 0:
        from minga.correlate.scores import configure_from
        from minga.correlate.sighting_views import refresher

        configure_from(settings)
        stack.enter_context(refresher(sessions, settings.score_refresh_seconds))
    if settings.exercise_tick_seconds > 0:  # drills move on their own
        from minga.exercises.scheduler import scheduler as exercise_scheduler

        stack.enter_context(exercise_scheduler(sessions, settings))
    if settings.notify_seconds > 0:  # notify: constituencies, watch lists, webhooks, e-mail
        from minga.events.notify_loop import background as notify_background

        stack.enter_context(notify_background(sessions, settings))
