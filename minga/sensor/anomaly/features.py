"""Flow records of any reader (Zeek conn.log, Suricata eve flow events, nfdump CSV) as one
canonical column set, then a feature `Frame`: all vectorised over the batch's Arrow columns.

Besides the flow's own numbers (duration, bytes and packets each way, bytes per packet), every
flow carries its source's behaviour in the same batch, like KDD's window features: how many
ports the source called, and as shares of its flows (so the window's length does not matter)
how many destinations, and how many failed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from minga.sensor.anomaly.model import Frame
from minga.sensor.readers.base import Batch

# canonical name → the column it has in each reader's output (first one present wins)
COLUMNS: dict[str, tuple[str, ...]] = {
    "ts": ("ts", "flow.start", "timestamp", "te"),
    "src": ("id.orig_h", "src_ip", "sa", "srcaddr", "src4_addr"),
    "dst": ("id.resp_h", "dest_ip", "da", "dstaddr", "dst4_addr"),
    "dport": ("id.resp_p", "dest_port", "dp", "dstport"),
    "proto": ("proto", "pr"),
    "service": ("service", "app_proto"),
    "state": ("conn_state", "flow.state", "flg"),
    "duration": ("duration", "flow.age", "td"),
    "out_bytes": ("orig_bytes", "flow.bytes_toserver", "ibyt", "in_bytes"),
    "in_bytes": ("resp_bytes", "flow.bytes_toclient", "obyt", "out_bytes"),
    "out_pkts": ("orig_pkts", "flow.pkts_toserver", "ipkt", "in_pkts"),
    "in_pkts": ("resp_pkts", "flow.pkts_toclient", "opkt", "out_pkts"),
}
NUMERIC = ("duration", "out_bytes", "in_bytes", "out_pkts", "in_pkts")
FAILED_STATES = ("S0", "REJ", "RSTO", "RSTR", "RSTOS0", "RSTRH", "SH", "SHR", "OTH", "new")
WELL_KNOWN = 1024
FEATURES = [
    *NUMERIC,
    "out_bytes_per_pkt",
    "in_bytes_per_pkt",
    "src_ports",
    "src_destination_share",
    "src_failed_share",
]
CATEGORICAL = ("proto", "service", "state", "port")


@dataclass
class Flows:
    """Canonical flow columns of one or more batches (NumPy), with where each came from."""

    ts: np.ndarray  # float seconds since the epoch (NaN when unknown)
    src: np.ndarray
    dst: np.ndarray
    dport: np.ndarray  # int, -1 when unknown
    proto: np.ndarray
    service: np.ndarray
    state: np.ndarray
    numbers: np.ndarray  # n × len(NUMERIC)
    path: np.ndarray
    line: np.ndarray

    def __len__(self) -> int:
        return len(self.src)


def is_flow_batch(batch: Batch) -> bool:
    names = set(batch.table.column_names)
    if batch.log == "eve":
        return "flow.pkts_toserver" in names
    return batch.log in ("conn", "netflow") and any(n in names for n in COLUMNS["src"])


def _column(table: pa.Table, name: str) -> pa.ChunkedArray | None:
    for candidate in COLUMNS[name]:
        if candidate in table.column_names:
            return table.column(candidate)
    return None


def _text(table: pa.Table, name: str) -> np.ndarray:
    column = _column(table, name)
    if column is None:
        return np.full(table.num_rows, "-", dtype=object)
    filled = pc.fill_null(column.cast(pa.string()), "-")
    return np.asarray(filled.to_numpy(zero_copy_only=False), dtype=object)


def _number(table: pa.Table, name: str) -> np.ndarray:
    column = _column(table, name)
    if column is None:
        return np.zeros(table.num_rows)
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        valid = pc.match_substring_regex(column, r"^-?[0-9.eE+]+$")
        column = pc.if_else(valid, column, pa.scalar(None, column.type)).cast(pa.float64())
    return np.nan_to_num(column.cast(pa.float64()).to_numpy(zero_copy_only=False))


def seconds(table: pa.Table) -> np.ndarray:
    column = _column(table, "ts")
    if column is None:
        return np.full(table.num_rows, np.nan)
    if pa.types.is_string(column.type):
        numeric = pc.match_substring_regex(column, r"^[0-9]+(\.[0-9]+)?$")
        if pc.all(pc.fill_null(numeric, False)).as_py():
            return column.cast(pa.float64()).to_numpy(zero_copy_only=False)
        text = pc.replace_substring_regex(column, r"(\.\d{6})\d*", r"\1")  # eve: nanoseconds
        text = pc.replace_substring_regex(text, r"([+-]\d\d)(\d\d)$", r"\1:\2")
        parsed = pc.strptime(
            pc.utf8_slice_codeunits(text, 0, 19), "%Y-%m-%dT%H:%M:%S", "s", error_is_null=True
        )
        if pc.all(pc.is_null(parsed)).as_py():
            parsed = pc.strptime(
                pc.utf8_slice_codeunits(text, 0, 19), "%Y-%m-%d %H:%M:%S", "s", error_is_null=True
            )
        values = parsed.cast(pa.int64()).to_numpy(zero_copy_only=False).astype(np.float64)
        return np.where(pc.is_null(parsed).to_numpy(zero_copy_only=False), np.nan, values)
    return column.cast(pa.float64()).to_numpy(zero_copy_only=False)


def flows(batches: list[Batch]) -> Flows:
    """The flow batches among `batches` as canonical columns (other logs are left out)."""
    parts = [b for b in batches if is_flow_batch(b) and b.records]
    if not parts:
        empty = np.zeros(0, dtype=object)
        return Flows(
            np.zeros(0),
            empty,
            empty,
            np.zeros(0, np.int64),
            empty,
            empty,
            empty,
            np.zeros((0, len(NUMERIC))),
            empty,
            np.zeros(0, np.int64),
        )
    names = ("ts", "src", "dst", "dport", "proto", "service", "state", "numbers", "path", "line")
    cols: dict[str, list[np.ndarray]] = {k: [] for k in names}
    for batch in parts:
        table, lines = batch.table, batch.lines
        if batch.log == "eve":  # only flow events carry the flow's numbers
            keep = pc.equal(table.column("event_type"), "flow")
            table = table.filter(keep)
            lines = lines[np.asarray(keep.to_numpy(zero_copy_only=False), dtype=bool)]
        cols["ts"].append(seconds(table))
        for name in ("src", "dst", "proto", "service", "state"):
            cols[name].append(_text(table, name))
        cols["dport"].append(_number(table, "dport").astype(np.int64))
        cols["numbers"].append(np.column_stack([_number(table, n) for n in NUMERIC]))
        cols["path"].append(np.full(table.num_rows, batch.path, dtype=object))
        cols["line"].append(lines)
    joined = {k: np.concatenate(v) for k, v in cols.items()}
    proto = np.char.lower(joined["proto"].astype(str)).astype(object)
    return Flows(
        joined["ts"],
        joined["src"],
        joined["dst"],
        joined["dport"],
        proto,
        joined["service"],
        joined["state"],
        joined["numbers"],
        joined["path"],
        joined["line"],
    )


def _group_counts(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Group index of each row and the size of each group."""
    _, inverse, counts = np.unique(keys.astype(str), return_inverse=True, return_counts=True)
    return inverse.ravel(), counts


def _distinct_per(group: np.ndarray, values: np.ndarray, groups: int) -> np.ndarray:
    pairs = np.unique(
        np.column_stack([group, np.unique(values.astype(str), return_inverse=True)[1].ravel()]),
        axis=0,
    )
    return np.bincount(pairs[:, 0], minlength=groups)


def frame(f: Flows) -> Frame:
    """The feature frame of `f`: per-flow numbers and per-source behaviour in the same window."""
    n = len(f)
    numbers = f.numbers
    out_pb = numbers[:, 1] / np.maximum(numbers[:, 3], 1)
    in_pb = numbers[:, 2] / np.maximum(numbers[:, 4], 1)
    group, sizes = _group_counts(f.src) if n else (np.zeros(0, np.int64), np.zeros(0, np.int64))
    groups = len(sizes)
    failed = np.isin(f.state.astype(str), FAILED_STATES)
    failed_share = np.bincount(group, weights=failed, minlength=groups) / np.maximum(sizes, 1)
    if n:
        destinations = _distinct_per(group, f.dst, groups)[group]
        ports = _distinct_per(group, f.dport, groups)[group]
        flows_of_src = sizes[group]
        behaviour = np.column_stack([
            ports, destinations / flows_of_src, failed_share[group],
        ])  # fmt: skip
    else:
        behaviour = np.zeros((0, 3))
    matrix = np.column_stack([numbers, out_pb, in_pb, behaviour])
    port = np.where(f.dport < WELL_KNOWN, f.dport.astype(str), "high").astype(object)
    port[f.dport < 0] = "-"
    categorical = {"proto": f.proto, "service": f.service, "state": f.state, "port": port}
    return Frame(list(FEATURES), matrix, categorical)
