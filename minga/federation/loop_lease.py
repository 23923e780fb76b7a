"""One holder per node for a background loop, whatever the number of workers or processes.

Like the job leases of `minga.ingest.lease`, a holder proves it is alive by renewing its lease
every round; a lease not renewed for its duration was left by a process that stopped, and the
next one to ask takes it over. The lease is one row of `node_settings` (`holder expires_us`),
changed by compare-and-set, so two processes racing for it cannot both win on either backend.
"""

from __future__ import annotations

import os
import socket
import time
import uuid

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from minga.accounts.models import NodeSetting


def new_holder() -> str:
    """A name for one loop in one process (host, pid and a random part)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def acquire(session: Session, name: str, holder: str, seconds: float) -> bool:
    """Take or renew the lease `name` for `seconds`; False while another live holder has it.

    Commit soon after: the row (on SQLite, the database) stays locked until then."""
    key = f"lease:{name}"
    now_us = time.time_ns() // 1000
    value = f"{holder} {now_us + int(seconds * 1_000_000)}"
    row = session.get(NodeSetting, key)
    if row is None:
        try:
            with session.begin_nested():
                session.add(NodeSetting(key=key, value=value))
        except IntegrityError:  # another process created it first: it holds the lease
            return False
        return True
    current_holder, _, expires = row.value.partition(" ")
    if current_holder != holder and expires.isdigit() and int(expires) > now_us:
        return False
    done = session.execute(
        update(NodeSetting)
        .where(NodeSetting.key == key, NodeSetting.value == row.value)
        .values(value=value)
        .execution_options(synchronize_session=False)
    )
    session.expire(row)
    return done.rowcount == 1  # type: ignore[attr-defined]


def release(session: Session, name: str, holder: str) -> None:
    """Give the lease up (a stopping loop), so another process need not wait for it to expire."""
    row = session.get(NodeSetting, f"lease:{name}")
    if row is not None and row.value.partition(" ")[0] == holder:
        session.delete(row)
