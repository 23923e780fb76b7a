"""DNS tunnelling and DGA-looking names, from Zeek dns.log or Suricata eve dns events.

Tunnelling (per source and registered parent domain): many distinct subdomains under one
parent, long or high-entropy labels carrying data, and TXT/NULL volume (the record types a
tunnel uses to bring data back). DGA: names whose registered label reads like no word
(`names.NameModel`), grouped per source.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from minga.sensor.alerts import Alert
from minga.sensor.anomaly.features import seconds
from minga.sensor.anomaly.names import NameModel, entropy, parent
from minga.sensor.readers.base import Batch

TUNNEL_TYPES = ("TXT", "NULL", "16", "10")


@dataclass
class Queries:
    ts: np.ndarray
    src: np.ndarray
    name: np.ndarray
    qtype: np.ndarray

    def __len__(self) -> int:
        return len(self.name)


def _col(table: pa.Table, *names: str) -> np.ndarray:
    for name in names:
        if name in table.column_names:
            values = pc.fill_null(table.column(name).cast(pa.string()), "")
            return np.asarray(values.to_numpy(zero_copy_only=False), dtype=object)
    return np.full(table.num_rows, "", dtype=object)


def queries(batches: list[Batch]) -> Queries:
    parts = []
    for batch in batches:
        table = batch.table
        if batch.log == "eve" and "dns.rrname" in table.column_names:
            table = table.filter(pc.equal(table.column("event_type"), "dns"))
        elif batch.log != "dns" or "query" not in table.column_names:
            continue
        parts.append(
            (
                seconds(table),
                _col(table, "id.orig_h", "src_ip"),
                _col(table, "query", "dns.rrname"),
                _col(table, "qtype_name", "dns.rrtype"),
            )
        )
    if not parts:
        empty = np.zeros(0, dtype=object)
        return Queries(np.zeros(0), empty, empty, empty)
    ts, src, name, qtype = (np.concatenate(x) for x in zip(*parts, strict=True))
    name = np.char.lower(name.astype(str)).astype(object)
    keep = name != ""
    return Queries(ts[keep], src[keep], name[keep], qtype[keep])


def _when(ts: np.ndarray) -> tuple[datetime, datetime]:
    good = ts[np.isfinite(ts)]
    if not len(good):
        now = datetime.now(UTC)
        return now, now
    return (
        datetime.fromtimestamp(float(good.min()), UTC),
        datetime.fromtimestamp(float(good.max()), UTC),
    )


def tunnel_alerts(q: Queries, min_subdomains: int = 30, min_tunnel_types: int = 20) -> list[Alert]:
    if not len(q):
        return []
    parents = np.array([parent(n) for n in q.name], dtype=object)
    sub_len = np.array([len(n) - len(p) for n, p in zip(q.name, parents, strict=True)])
    key = np.char.add(np.char.add(q.src.astype(str), "|"), parents.astype(str))
    keys, group = np.unique(key, return_inverse=True)
    group = group.ravel()
    counts = np.bincount(group)
    tunnel_type = np.isin(q.qtype.astype(str), TUNNEL_TYPES)
    alerts = []
    for g in np.flatnonzero(counts >= min(min_subdomains, min_tunnel_types)):
        rows = np.flatnonzero(group == g)
        names = q.name[rows]
        distinct = np.unique(names)
        txt = int(tunnel_type[rows].sum())
        if len(distinct) < min_subdomains and txt < min_tunnel_types:
            continue
        subs = [n[: -len(parents[rows[0]]) - 1] for n in distinct if len(n) > len(parents[rows[0]])]
        mean_len = float(np.mean([len(s) for s in subs])) if subs else 0.0
        ent = float(np.mean([entropy(s) for s in subs])) if subs else 0.0
        longest = int(sub_len[rows].max())
        signals = {
            "distinct_subdomains": float(len(distinct)),
            "mean_subdomain_length": round(mean_len, 1),
            "subdomain_entropy": round(ent, 2),
            "longest_subdomain": float(longest),
            "txt_null_queries": float(txt),
        }
        data_like = (mean_len >= 16) + (ent >= 3.5) + (longest >= 40) + (txt >= min_tunnel_types)
        if data_like == 0:
            continue  # many ordinary subdomains (a CDN), nothing that carries data
        score = min(1.0, 0.4 + 0.15 * data_like + 0.1 * min(len(distinct) / 300, 1.0))
        src, domain = str(keys[g]).split("|", 1)
        first, last = _when(q.ts[rows])
        why = (
            f"{len(distinct)} distinct names under {domain} from one source, subdomains "
            f"{mean_len:.0f} characters long on average with entropy {ent:.1f} bits"
            + (f", {txt} TXT/NULL queries" if txt else "")
            + ": data carried in DNS names"
        )
        alerts.append(
            Alert(
                "dns-tunnel",
                score,
                why,
                first,
                last,
                src,
                domain,
                len(rows),
                signals,
                {"sample": [str(n) for n in distinct[:5]]},
            )
        )
    return alerts


def dga_alerts(
    q: Queries, model: NameModel, threshold: float = 0.7, min_names: int = 3
) -> list[Alert]:
    """One alert per source that asked for at least `min_names` DGA-looking registered names."""
    if not len(q):
        return []
    parents = np.array([parent(n) for n in q.name], dtype=object)
    distinct = np.unique(parents)
    scored = {p: model.dga_score(p) for p in distinct}
    flagged = np.array([scored[p][0] >= threshold for p in parents])
    alerts = []
    for src in np.unique(q.src[flagged]):
        rows = np.flatnonzero(flagged & (q.src == src))
        names = sorted(set(parents[rows].tolist()), key=lambda p: -scored[p][0])
        if len(names) < min_names:
            continue
        scores = [scored[p][0] for p in names]
        first, last = _when(q.ts[rows])
        top = scored[names[0]][1]
        why = (
            f"{len(names)} distinct names that read like no word (character model of benign "
            f"names), e.g. {', '.join(names[:3])}: a domain generation algorithm looks for "
            f"its controller"
        )
        spread = 0.7 + 0.3 * min(len(names) / 20, 1.0)
        score = min(1.0, float(np.mean(scores)) * spread)
        alerts.append(
            Alert(
                "dga",
                score,
                why,
                first,
                last,
                str(src),
                None,
                len(rows),
                top,
                {"names": names[:20]},
            )
        )
    return alerts
