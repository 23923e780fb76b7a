"""The sensor's state on disk (`--state DIR`: one SQLite file, `sensor.sqlite`): the sightings it
aggregated and the alerts it found, until the node has them, and how far it read each log.

Sightings are aggregated per indicator per hour (of the records' own time) under a deterministic
STIX id (`sighting_id`: uuid5 of the organisation's identity, the indicator and the hour). New
matches in an hour already reported make a new *version* of the same sighting (same id and
`created`, a later `modified`, the running `count`, `first_seen`/`last_seen` widened): STIX 2.1
versioning of an object by its creator, which the node keeps as one sighting counted once
(`minga.correlate.stored` replaces the counting row with the newest version). Only the newest
version waits here: versions made while the node was down are merged, not queued one by one.

A version is sent as fixed content (its `modified` is stored), so a re-send after a crash between
the node's commit and ours is the very same version, which the node answers as already stored.
Alerts carry a content-derived id the node's `sensor_alerts` table is unique on.

Every change commits in one transaction with the log positions it came from: after a crash the
sensor neither loses a match nor counts one twice.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson

from minga.intel.stix import TLP2_MARKING_ID, us_to_ts
from minga.policy import TLP_RANK, Tlp
from minga.sensor.alerts import Alert

HOUR_US = 3_600_000_000
# Sightings ids: uuid5 in this namespace of "identity|indicator|hour".
NAMESPACE = uuid.UUID("6f1c2a8e-5b0e-4d0c-9a53-3e4f2b7c9d10")
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sightings (
    id TEXT PRIMARY KEY, indicator TEXT NOT NULL, hour_us INTEGER NOT NULL,
    count INTEGER NOT NULL, first_us INTEGER NOT NULL, last_us INTEGER NOT NULL,
    tlp TEXT NOT NULL, created_us INTEGER NOT NULL, version_us INTEGER NOT NULL,
    sent_us INTEGER NOT NULL DEFAULT 0, refused TEXT);
CREATE INDEX IF NOT EXISTS sightings_pending ON sightings (sent_us, version_us);
CREATE TABLE IF NOT EXISTS alerts (
    id TEXT PRIMARY KEY, body TEXT NOT NULL, added_us INTEGER NOT NULL,
    sent INTEGER NOT NULL DEFAULT 0, refused TEXT);
CREATE TABLE IF NOT EXISTS positions (
    path TEXT PRIMARY KEY, inode INTEGER NOT NULL, offset INTEGER NOT NULL,
    lines INTEGER NOT NULL, header BLOB NOT NULL, kind TEXT);
"""

# TLP levels in rising order inside one string: instr() gives each its rank in SQL.
TLP_ORDER = "clear|green|amber|amber+strict|red"
UPSERT = f"""
INSERT INTO sightings (id, indicator, hour_us, count, first_us, last_us, tlp, created_us,
                       version_us)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET
    count = min(count + excluded.count, 999999999),
    first_us = min(first_us, excluded.first_us),
    last_us = max(last_us, excluded.last_us),
    tlp = CASE WHEN instr('{TLP_ORDER}', excluded.tlp) > instr('{TLP_ORDER}', tlp)
               THEN excluded.tlp ELSE tlp END,
    version_us = max(excluded.version_us, version_us + 1),
    refused = NULL
"""


def sighting_id(identity: str, indicator: str, hour_us: int) -> str:
    return f"sighting--{uuid.uuid5(NAMESPACE, f'{identity}|{indicator}|{hour_us}')}"


def alert_id(alert: Alert) -> str:
    body = orjson.dumps(alert.as_json(), option=orjson.OPT_SORT_KEYS, default=str)
    return "sensor-" + hashlib.sha256(body).hexdigest()[:32]


def stricter(a: Tlp, b: Tlp) -> Tlp:
    return a if TLP_RANK[a] >= TLP_RANK[b] else b


@dataclass(frozen=True)
class Seen:
    """Records of one hour that matched one indicator."""

    indicator: str
    hour_us: int
    count: int
    first_us: int
    last_us: int
    tlp: Tlp


@dataclass(frozen=True)
class Position:
    inode: int
    offset: int
    lines: int
    header: bytes
    kind: str | None


@dataclass(frozen=True)
class Pending:
    sightings: int
    alerts: int
    refused: int


class Outbox:
    def __init__(self, directory: str) -> None:
        os.makedirs(directory, exist_ok=True)
        self.path = os.path.join(directory, "sensor.sqlite")
        self.db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    # -- meta ---------------------------------------------------------------------------------

    def get(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def put(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    # -- recording (one transaction with the positions read) -------------------------------------

    def record(
        self,
        identity: str,
        seen: Iterable[Seen],
        alerts: Iterable[Alert] = (),
        positions: dict[str, Position] | None = None,
    ) -> None:
        now = time.time_ns() // 1000
        with self._transaction() as db:
            self._add(db, identity, list(seen), now)
            for alert in alerts:
                db.execute(
                    "INSERT OR IGNORE INTO alerts (id, body, added_us) VALUES (?, ?, ?)",
                    (alert_id(alert), orjson.dumps(alert.as_json()).decode(), now),
                )
            for path, p in (positions or {}).items():
                db.execute(
                    "INSERT OR REPLACE INTO positions VALUES (?, ?, ?, ?, ?, ?)",
                    (path, p.inode, p.offset, p.lines, p.header, p.kind),
                )

    def _add(self, db: sqlite3.Connection, identity: str, seen: list[Seen], now: int) -> None:
        """New sightings, or a new version of known ones: the count grows, first/last seen
        widen, the TLP only ever gets stricter, and the version is later than the last one."""
        db.executemany(
            UPSERT,
            [
                (sighting_id(identity, s.indicator, s.hour_us), s.indicator, s.hour_us, s.count,
                 s.first_us, s.last_us, s.tlp.value, now, now)
                for s in seen
            ],
        )  # fmt: skip

    def positions(self) -> dict[str, Position]:
        rows = self.db.execute("SELECT path, inode, offset, lines, header, kind FROM positions")
        return {r[0]: Position(r[1], r[2], r[3], bytes(r[4]), r[5]) for r in rows}

    # -- sending ----------------------------------------------------------------------------------

    def pending_sightings(self, identity: str, limit: int) -> list[tuple[dict[str, Any], int]]:
        """The newest unsent version of sightings as STIX objects, with their version (µs)."""
        rows = self.db.execute(
            "SELECT id, indicator, count, first_us, last_us, tlp, created_us, version_us "
            "FROM sightings WHERE sent_us < version_us AND refused IS NULL "
            "ORDER BY version_us LIMIT ?",
            (limit,),
        ).fetchall()
        out = []
        for sid, indicator, count, first, last, tlp, created, version in rows:
            obj = {
                "type": "sighting",
                "spec_version": "2.1",
                "id": sid,
                "created": us_to_ts(created),
                "modified": us_to_ts(version),
                "created_by_ref": identity,
                "sighting_of_ref": indicator,
                "count": count,
                "first_seen": us_to_ts(first),
                "last_seen": us_to_ts(last),
                "where_sighted_refs": [identity],
                "object_marking_refs": [TLP2_MARKING_ID[Tlp(tlp)]],
            }
            out.append((obj, version))
        return out

    def sent_sightings(self, versions: Iterable[tuple[str, int]]) -> None:
        with self._transaction() as db:
            db.executemany(
                "UPDATE sightings SET sent_us = ? WHERE id = ? AND sent_us < ?",
                [(v, sid, v) for sid, v in versions],
            )

    def refuse_sighting(self, sid: str, version: int, why: str) -> None:
        """The node refused this version: kept, not sent again until a new version is made."""
        self.db.execute(
            "UPDATE sightings SET refused = ? WHERE id = ? AND version_us = ?",
            (why[:500], sid, version),
        )

    def pending_alerts(self, limit: int) -> list[tuple[str, dict[str, Any]]]:
        rows = self.db.execute(
            "SELECT id, body FROM alerts WHERE sent = 0 AND refused IS NULL "
            "ORDER BY added_us, id LIMIT ?",
            (limit,),
        ).fetchall()
        return [(aid, {"id": aid, **orjson.loads(body)}) for aid, body in rows]

    def sent_alerts(self, ids: Iterable[str]) -> None:
        with self._transaction() as db:
            db.executemany("UPDATE alerts SET sent = 1 WHERE id = ?", [(i,) for i in ids])

    def refuse_alert(self, aid: str, why: str) -> None:
        self.db.execute("UPDATE alerts SET refused = ? WHERE id = ?", (why[:500], aid))

    def pending(self) -> Pending:
        (sightings,) = self.db.execute(
            "SELECT count(*) FROM sightings WHERE sent_us < version_us AND refused IS NULL"
        ).fetchone()
        (alerts,) = self.db.execute(
            "SELECT count(*) FROM alerts WHERE sent = 0 AND refused IS NULL"
        ).fetchone()
        (refused,) = self.db.execute(
            "SELECT (SELECT count(*) FROM sightings WHERE refused IS NOT NULL) + "
            "(SELECT count(*) FROM alerts WHERE refused IS NOT NULL)"
        ).fetchone()
        return Pending(int(sightings), int(alerts), int(refused))

    def _transaction(self) -> _Tx:
        return _Tx(self.db)


class _Tx:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, kind: object, *rest: object) -> None:
        self.db.execute("ROLLBACK" if kind is not None else "COMMIT")
