"""Anomalies in auth.log and syslog: an SSH brute-force rule (and a login that succeeds after
one), and log-template sessions that break the invariants of the rest of the log.

Sessions are the actors of the log: the source address a line names (sshd, most daemons), or
else the host's program. Each session's template counts are scored by `SessionModel`, fitted on
the same window when no baseline is given (invariants hold in ≥ 95 % of the sessions, so a few
odd actors do not hide themselves).
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from minga.sensor.alerts import Alert
from minga.sensor.anomaly.sessions import SessionModel, count_vectors
from minga.sensor.anomaly.templates import TemplateMiner
from minga.sensor.readers.base import Batch

FAILED = ("failed-password", "invalid-user", "auth-failure")
MIN_SESSIONS = 20


def _times(table: pa.Table) -> np.ndarray:
    ts = table.column("ts")
    year = str(datetime.now(UTC).year)
    text = pc.if_else(
        pc.match_substring_regex(ts, r"^\d{4}-"),
        pc.utf8_slice_codeunits(ts, 0, 19),
        pc.binary_join_element_wise(pa.scalar(year), ts, " "),
    )
    text = pc.replace_substring(text, "T", " ")
    a = pc.strptime(text, "%Y-%m-%d %H:%M:%S", "s", error_is_null=True)
    b = pc.strptime(text, "%Y %b %d %H:%M:%S", "s", error_is_null=True)
    parsed = pc.coalesce(a, b)
    values = parsed.cast(pa.int64()).to_numpy(zero_copy_only=False).astype(np.float64)
    return np.where(pc.is_null(parsed).to_numpy(zero_copy_only=False), np.nan, values)


def _span(ts: np.ndarray) -> tuple[datetime, datetime]:
    good = ts[np.isfinite(ts)]
    if not len(good):
        now = datetime.now(UTC)
        return now, now
    return (
        datetime.fromtimestamp(float(good.min()), UTC),
        datetime.fromtimestamp(float(good.max()), UTC),
    )


def _strings(column: pa.ChunkedArray) -> np.ndarray:
    return np.asarray(pc.fill_null(column, "").to_numpy(zero_copy_only=False), dtype=object)


def brute_force_alerts(batch: Batch, min_failures: int = 10) -> list[Alert]:
    table = batch.table
    if "event" not in table.column_names:
        return []
    event, src, user = (_strings(table.column(c)) for c in ("event", "src", "user"))
    ts = _times(table)
    failed = np.isin(event.astype(str), FAILED) & (src != "")
    alerts = []
    sources, counts = np.unique(src[failed].astype(str), return_counts=True)
    for source, count in zip(sources, counts, strict=True):
        if count < min_failures:
            continue
        rows = np.flatnonzero(src == source)
        users = sorted({u for u in user[rows][failed[rows]] if u})
        accepted = rows[event[rows] == "accepted"]
        after = accepted[accepted > rows[failed[rows]].min()] if len(accepted) else accepted
        first, last = _span(ts[rows])
        if len(after):
            who = str(user[after[0]])
            why = (
                f"{count} failed SSH logins from {source}, then a successful login as {who} "
                f"(line {int(batch.lines[after[0]])}): a guessed password"
            )
            score = 0.95
        else:
            why = (
                f"{count} failed SSH logins from {source} for {len(users)} user name(s): "
                f"password guessing (rule: ≥ {min_failures} failures from one source)"
            )
            score = min(0.9, 0.5 + 0.4 * min(count / 200, 1.0))
        alerts.append(
            Alert(
                "ssh-brute-force",
                score,
                why,
                first,
                last,
                str(source),
                batch.path,
                int(count),
                {"failures": float(count), "users": float(len(users))},
                {"users": users[:10], "lines": batch.lines[rows][:5].tolist()},
            )
        )
    return alerts


def template_alerts(batch: Batch, threshold: float = 0.5) -> list[Alert]:
    """Sessions whose template counts break the invariants the other sessions keep."""
    table = batch.table
    if batch.records == 0 or "message" not in table.column_names:
        return []
    miner = TemplateMiner()
    ids = miner.fit(table.column("message"))
    src = _strings(table.column("src")).astype(str)
    actor = np.char.add(_strings(table.column("host")).astype(str), "/")
    actor = np.where(
        src != "", src, np.char.add(actor, _strings(table.column("program")).astype(str))
    )
    keys, counts = count_vectors(actor, ids, len(miner.templates))
    if len(keys) < MIN_SESSIONS:
        return []
    model = SessionModel.fit(counts, miner.templates, hold=0.95, allowed_share=None)
    scores = model.scores(counts)
    ts = _times(table)
    alerts = []
    for i in np.flatnonzero(scores >= threshold):
        rows = np.flatnonzero(actor == keys[i])
        first, last = _span(ts[rows])
        why = (
            f"session {keys[i]} ({int(counts[i].sum())} lines) is unlike the other "
            f"{len(keys) - 1} sessions of this log: {model.why(counts[i])}"
        )
        present = {miner.templates[j][:80]: float(counts[i, j]) for j in np.flatnonzero(counts[i])}
        alerts.append(
            Alert(
                "log-template",
                float(scores[i]),
                why,
                first,
                last,
                str(keys[i]),
                batch.path,
                int(counts[i].sum()),
                dict(list(present.items())[:8]),
                {"lines": batch.lines[rows][:5].tolist()},
            )
        )
    return alerts
