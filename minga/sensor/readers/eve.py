"""Suricata eve.json: one event per line. Events are nested and their shape depends on
event_type, so each line is decoded once (orjson) and only the fields the sensor uses are kept,
flattened into columns."""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson
import pyarrow as pa

from minga.sensor.readers.base import Batch, Malformed, line_starts

# column → path inside the event
FIELDS: dict[str, tuple[str, ...]] = {
    "timestamp": ("timestamp",),
    "event_type": ("event_type",),
    "src_ip": ("src_ip",),
    "src_port": ("src_port",),
    "dest_ip": ("dest_ip",),
    "dest_port": ("dest_port",),
    "proto": ("proto",),
    "app_proto": ("app_proto",),
    "alert.signature": ("alert", "signature"),
    "dns.rrname": ("dns", "rrname"),
    "http.hostname": ("http", "hostname"),
    "http.url": ("http", "url"),
    "tls.sni": ("tls", "sni"),
    "tls.fingerprint": ("tls", "fingerprint"),
    "tls.ja3.hash": ("tls", "ja3", "hash"),
    "tls.ja3s.hash": ("tls", "ja3s", "hash"),
    "fileinfo.md5": ("fileinfo", "md5"),
    "fileinfo.sha1": ("fileinfo", "sha1"),
    "fileinfo.sha256": ("fileinfo", "sha256"),
    # flow events' numbers, for the anomaly detectors (minga.sensor.anomaly)
    "flow.start": ("flow", "start"),
    "flow.age": ("flow", "age"),
    "flow.state": ("flow", "state"),
    "flow.pkts_toserver": ("flow", "pkts_toserver"),
    "flow.pkts_toclient": ("flow", "pkts_toclient"),
    "flow.bytes_toserver": ("flow", "bytes_toserver"),
    "flow.bytes_toclient": ("flow", "bytes_toclient"),
    "dns.rrtype": ("dns", "rrtype"),
}


def _get(event: dict[str, Any], path: tuple[str, ...]) -> str | None:
    value: Any = event
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return None if value is None or isinstance(value, dict | list) else str(value)


def _query_name(event: dict[str, Any]) -> str | None:
    """eve v2 puts queries in dns.queries[], v1 in dns.rrname."""
    dns = event.get("dns")
    if isinstance(dns, dict):
        queries = dns.get("queries")
        if isinstance(queries, list) and queries and isinstance(queries[0], dict):
            name = queries[0].get("rrname")
            return None if name is None else str(name)
    return None


def read_eve(path: str, buf: bytes) -> Batch:
    starts, ends = line_starts(buf)
    columns: dict[str, list[str | None]] = {name: [] for name in FIELDS}
    columns["url"] = []
    lines: list[int] = []
    malformed: list[Malformed] = []
    for i in np.flatnonzero(ends > starts):
        try:
            event = orjson.loads(buf[starts[i] : ends[i]])
            if not isinstance(event, dict):
                raise ValueError("not a JSON object")
        except ValueError as exc:
            malformed.append(Malformed(path, int(i) + 1, f"not JSON: {str(exc)[:80]}"))
            continue
        for name, where in FIELDS.items():
            columns[name].append(_get(event, where))
        if columns["dns.rrname"][-1] is None:
            columns["dns.rrname"][-1] = _query_name(event)
        host, url = columns["http.hostname"][-1], columns["http.url"][-1]
        columns["url"].append(f"http://{host}{url}" if host and url else None)
        lines.append(int(i) + 1)
    table = pa.table({n: pa.array(v, pa.string()) for n, v in columns.items()})
    return Batch(path, "eve", table, np.array(lines, dtype=np.int64), malformed)
