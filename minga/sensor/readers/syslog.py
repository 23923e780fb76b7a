"""syslog (RFC 3164 or ISO timestamps) and OpenSSH auth.log: the file is split into one Arrow
string array and parsed by regular expressions over the whole column (RE2, no Python loop)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from minga.sensor.readers.base import Batch, Malformed

LINE = (
    r"^(?P<ts>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d|\d{4}-\d\d-\d\dT\S+) (?P<host>\S+) "
    r"(?P<program>[^\s\[:]+)(?: [\d.]+)?(?:\[(?P<pid>\d+)\])?: ?(?P<message>.*)$"
)
IPV4 = r"(?P<src>\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b)"
# OpenSSH's own words for what happened, with the user named
SSH_EVENTS = [
    ("failed-password", r"Failed \S+ for (?:invalid user )?(?P<user>\S+) from "),
    ("accepted", r"Accepted \S+ for (?P<user>\S+) from "),
    ("invalid-user", r"[Ii]nvalid user (?P<user>\S*) from "),
    ("auth-failure", r"authentication failure;.*?(?:user=(?P<user>\S+))?\s*$"),
]


def looks_like_syslog(first_line: str) -> bool:
    return pc.match_substring_regex(pa.array([first_line]), LINE)[0].as_py() is True


def read_syslog(path: str, buf: bytes) -> Batch:
    text = buf.decode("utf-8", "replace")
    raw = pc.utf8_rtrim(pa.array(text.split("\n"), pa.string()), characters="\r")  # CRLF files
    numbers = np.arange(1, len(raw) + 1, dtype=np.int64)
    if len(raw) and raw[-1].as_py() == "":
        raw, numbers = raw[:-1], numbers[:-1]
    parts = pc.extract_regex(raw, LINE)
    ok = np.asarray(parts.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    empty = np.asarray(pc.equal(pc.utf8_length(raw), 0).to_numpy(zero_copy_only=False), bool)
    malformed = [
        Malformed(path, int(numbers[i]), "not a syslog line") for i in np.flatnonzero(~ok & ~empty)
    ]
    parts = parts.filter(pa.array(ok))
    columns = {name: parts.field(name) for name in ("ts", "host", "program", "pid", "message")}
    message = columns["message"]
    columns["src"] = pc.extract_regex(message, IPV4).field("src")
    sshd = pc.starts_with(columns["program"], "sshd")
    event: pa.Array = pa.nulls(len(message), pa.string())
    user: pa.Array = pa.nulls(len(message), pa.string())
    for name, pattern in SSH_EVENTS:
        found = pc.extract_regex(message, pattern)
        hit = pc.and_(pc.and_(found.is_valid(), sshd), event.is_null())
        event = pc.if_else(hit, pa.scalar(name), event)
        user = pc.if_else(hit, found.field("user"), user)
    columns["event"], columns["user"] = event, user
    sshd_share = pc.sum(sshd).as_py() or 0
    log = "auth" if len(message) and sshd_share * 2 > len(message) else "syslog"
    table = pa.table(columns)
    return Batch(path, log, table, numbers[ok], malformed)
