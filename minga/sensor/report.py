"""Reporting back to the node: matches become STIX sightings (per indicator per hour, see
`minga.sensor.outbox`), alerts go to `POST /api/sensor/alerts`; both wait in the on-disk outbox
until the node has them.

The TLP of a sighting is the stricter of the organisation's choice (`--tlp`, default AMBER) and
the sighted indicator's own TLP: a sighting says the organisation's network touched what the
indicator names, so it is never more open than the organisation chose, nor than the indicator.
Sightings are sent as STIX objects in batches through the object store (`POST /api/objects`),
the same store `POST /api/objects/{id}/sightings` writes to, because only a sighting sent whole
can keep the sensor's deterministic id and versions (that endpoint mints a new id each time).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
import pyarrow as pa

from minga.policy import Tlp
from minga.sensor.alerts import Alert
from minga.sensor.match import Match
from minga.sensor.outbox import HOUR_US, Outbox, Position, Seen, stricter
from minga.sensor.readers import Batch

BATCH = 100  # objects (or alerts) per request
TIME_COLUMNS = ("ts", "timestamp")
MAX_BACKOFF = 30.0


class NodeUnavailable(Exception):
    """The node did not answer, or answered that it cannot work now (5xx)."""


def _time_us(value: Any) -> int | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(float(value) * 1_000_000)
    if isinstance(value, datetime):
        return int(value.timestamp() * 1_000_000)
    if not isinstance(value, str) or not value:
        return None
    try:
        return int(float(value) * 1_000_000)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:  # nfdump prints the local time
        parsed = parsed.astimezone()
    return int(parsed.timestamp() * 1_000_000)


def record_times_us(table: pa.Table, rows: list[int], default: int) -> dict[int, int]:
    """Each row's own time (Zeek's epoch `ts`, eve's ISO `timestamp`, nfdump's `ts`), else
    `default` (the time it was read: syslog lines carry no year). One column take per batch."""
    found: dict[int, int] = {}
    wanted = sorted(set(rows))
    for name in TIME_COLUMNS:
        if name not in table.column_names or len(found) == len(wanted):
            continue
        missing = [r for r in wanted if r not in found]
        values = table.column(name).take(pa.array(missing, pa.int64())).to_pylist()
        for row, value in zip(missing, values, strict=True):
            at = _time_us(value)
            if at is not None:
                found[row] = at
    return {row: found.get(row, default) for row in wanted}


def record_time_us(table: pa.Table, row: int, default: int) -> int:
    return record_times_us(table, [row], default)[row]


@dataclass
class Sent:
    sightings: int = 0
    alerts: int = 0
    refused: list[str] = field(default_factory=list)


class Reporter:
    def __init__(
        self,
        outbox: Outbox,
        node_url: str,
        token: str,
        tlp: Tlp = Tlp.AMBER,
        indicator_tlp: Callable[[str], Tlp] = lambda _: Tlp.AMBER,
        timeout: float = 30.0,
        max_backoff: float = MAX_BACKOFF,
    ) -> None:
        self.outbox = outbox
        self.max_backoff = max(0.1, max_backoff)
        self.tlp = tlp
        self.indicator_tlp = indicator_tlp
        self.client = httpx.Client(
            base_url=node_url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
        )
        self.identity = outbox.get("identity") or ""
        self.staged: dict[tuple[str, int], list[int]] = {}  # (indicator, hour) → count/first/last
        self.alerts: list[Alert] = []
        self.reporting = True  # False: only log positions are kept (--no-report --state)
        self.retry_at = 0.0
        self.backoff = min(1.0, self.max_backoff)

    def close(self) -> None:
        self.client.close()

    def start(self) -> None:
        """Learn the organisation's STIX identity from the node (kept in the state: the sensor
        keeps recording while the node is down, and its sightings keep their ids)."""
        try:
            me = self._call("GET", "/api/me")
        except NodeUnavailable:
            if self.identity:
                return
            raise
        identity = str(me["organisation"]["identity_ref"])
        known = self.outbox.get("identity")
        if known and known != identity:
            raise ValueError(
                f"the state directory holds another organisation's sightings ({known}); "
                "use a state directory of its own for each organisation"
            )
        self.outbox.put("identity", identity)
        self.identity = identity

    # -- recording ------------------------------------------------------------------------------

    def seen(self, batch: Batch, found: list[Match]) -> None:
        """Stage one record per (record, indicator): a record matching one indicator on two
        fields (source and destination both listed) is one sighting, not two."""
        if not self.reporting:
            return
        if not found:
            return
        times = record_times_us(batch.table, [m.row for m in found], time.time_ns() // 1000)
        rows: set[tuple[int, str]] = set()
        for m in found:
            if (m.row, m.indicator) in rows:
                continue
            rows.add((m.row, m.indicator))
            at = times[m.row]
            key = (m.indicator, at - at % HOUR_US)
            kept = self.staged.get(key)
            if kept is None:
                self.staged[key] = [1, at, at]
            else:
                kept[0] += 1
                kept[1] = min(kept[1], at)
                kept[2] = max(kept[2], at)

    def alert(self, alert: Alert) -> None:
        if self.reporting:
            self.alerts.append(alert)

    def checkpoint(self, positions: dict[str, Position] | None = None) -> None:
        """Commit what was staged, with the log positions it was read up to, in one
        transaction."""
        seen = [
            Seen(ind, hour, c, first, last, stricter(self.tlp, self.indicator_tlp(ind)))
            for (ind, hour), (c, first, last) in self.staged.items()
        ]
        if seen or self.alerts or positions:
            self.outbox.record(self.identity, seen, self.alerts, positions)
        self.staged.clear()
        self.alerts = []

    # -- sending --------------------------------------------------------------------------------

    def flush(self, force: bool = False) -> Sent:
        """Send what waits, unless the node failed recently (a backoff doubling from 1 s up to
        `max_backoff`; `force` tries now). NodeUnavailable when the node cannot take it now."""
        sent = Sent()
        if not force and time.monotonic() < self.retry_at:
            return sent
        try:
            self._send_sightings(sent)
            self._send_alerts(sent)
        except NodeUnavailable:
            self.retry_at = time.monotonic() + self.backoff
            self.backoff = min(self.backoff * 2, self.max_backoff)
            raise
        self.backoff = min(1.0, self.max_backoff)
        return sent

    def _send_sightings(self, sent: Sent) -> None:
        while batch := self.outbox.pending_sightings(self.identity, BATCH):
            objects = [obj for obj, _ in batch]
            try:
                self._call("POST", "/api/objects", {"objects": objects})
            except _Refused as exc:
                for index, why in exc.items(len(batch)):
                    obj, version = batch[index]
                    self.outbox.refuse_sighting(obj["id"], version, why)
                    sent.refused.append(f"sighting of {obj['sighting_of_ref']}: {why}")
                continue  # the others go again with the next request
            self.outbox.sent_sightings((obj["id"], version) for obj, version in batch)
            sent.sightings += len(batch)

    def _send_alerts(self, sent: Sent) -> None:
        while batch := self.outbox.pending_alerts(BATCH):
            try:
                self._call("POST", "/api/sensor/alerts", {"alerts": [b for _, b in batch]})
            except _Refused as exc:
                for index, why in exc.items(len(batch)):
                    self.outbox.refuse_alert(batch[index][0], why)
                    sent.refused.append(f"alert {batch[index][0]}: {why}")
                continue
            self.outbox.sent_alerts(aid for aid, _ in batch)
            sent.alerts += len(batch)

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        try:
            response = self.client.request(method, path, json=body)
        except httpx.HTTPError as exc:
            raise NodeUnavailable(f"{self.client.base_url}: {exc.__class__.__name__}") from None
        if response.status_code >= 500 or response.status_code in (401, 403, 429):
            # a node that cannot work now, or a token refused (it may be fixed): kept, retried
            raise NodeUnavailable(f"{self.client.base_url}{path}: HTTP {response.status_code}")
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        if response.status_code >= 400:
            refused = _Refused(response.status_code, answer)
            if response.status_code == 409 and refused.indices is None:
                # a concurrent write on the node (nothing about these items): try again
                raise NodeUnavailable(f"{self.client.base_url}{path}: {refused.message}")
            raise refused
        return answer


class _Refused(Exception):
    """The node refused a request (4xx other than an authentication or rate answer)."""

    def __init__(self, status: int, answer: Any) -> None:
        message = answer.get("message") if isinstance(answer, dict) else None
        self.message = f"HTTP {status}: {message or 'refused'}"
        details = answer.get("details") if isinstance(answer, dict) else None
        self.indices: dict[int, str] | None = None
        if isinstance(details, list) and details:
            found = {}
            for d in details:
                if isinstance(d, dict) and isinstance(d.get("index"), int):
                    problems = d.get("problems") or [d.get("problem") or self.message]
                    found[d["index"]] = "; ".join(str(p) for p in problems)
            self.indices = found or None
        super().__init__(self.message)

    def items(self, size: int) -> list[tuple[int, str]]:
        if self.indices is None:
            return [(i, self.message) for i in range(size)]
        return [(i, why) for i, why in sorted(self.indices.items()) if 0 <= i < size]
