"""A node-wide lease: one holder among all the processes serving one database (several
`minga serve` workers, a restarted node), like the job leases of `minga.ingest.lease`.

The lease is one node-settings row `lease:NAME` = "HOLDER EXPIRES_US", taken or renewed by a
compare-and-set UPDATE (the row still says what this process read), so two processes never both
hold it; a holder that stops renewing (killed) loses it when it expires.
"""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from minga.accounts.models import NodeSetting
from minga.db import unit_of_work


class NodeLease:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        name: str,
        ttl: timedelta,
        *,
        info: dict[str, object] | None = None,
    ) -> None:
        self.sessions, self.key, self.ttl_us = (
            sessions,
            f"lease:{name}",
            int(ttl / timedelta(microseconds=1)),
        )
        self.holder = uuid.uuid4().hex
        self.info = info or {}

    def hold(self) -> bool:
        """Take or renew the lease; False while another live process holds it."""
        now = time.time_ns() // 1000
        value = f"{self.holder} {now + self.ttl_us}"
        try:
            with unit_of_work(self.sessions) as s:
                s.info.update(self.info)
                row = s.get(NodeSetting, self.key)
                if row is None:
                    s.add(NodeSetting(key=self.key, value=value))
                    return True
                holder, _, expires = row.value.partition(" ")
                if holder != self.holder and expires.isdigit() and int(expires) > now:
                    return False
                done = s.execute(
                    update(NodeSetting)
                    .where(NodeSetting.key == self.key, NodeSetting.value == row.value)
                    .values(value=value)
                )
                return done.rowcount == 1  # type: ignore[attr-defined]
        except IntegrityError:  # another process inserted the row first
            return False

    def release(self) -> None:
        """Let another process take over at once (on a clean stop)."""
        with unit_of_work(self.sessions) as s:
            s.info.update(self.info)
            row = s.get(NodeSetting, self.key)
            if row is not None and row.value.startswith(self.holder + " "):
                row.value = f"{self.holder} 0"
