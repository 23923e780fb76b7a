"""What the Suricata and Snort writers share: rule ids, messages and content escaping."""

from __future__ import annotations

from minga.correlate.export.rows import ExportRow

# Local rules live above 1,000,000; Minga's feeds take one block so they mix with others.
SID_BASE = 1_900_000_000
_SAFE = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_~/?=&%@!$'()*+,#[]^`{}<>"
)


def content(text: str) -> str:
    """`text` as a rule content string: anything but plain characters as |hex| bytes."""
    out: list[str] = []
    pending: list[str] = []
    for ch in text:
        if ch in _SAFE:
            if pending:
                out.append("|" + " ".join(pending) + "|")
                pending = []
            out.append(ch)
        else:
            pending.extend(f"{b:02X}" for b in ch.encode())
    if pending:
        out.append("|" + " ".join(pending) + "|")
    return "".join(out)


def message(prefix: str, row: ExportRow) -> str:
    """A rule's msg: the kind, value and indicator, without the characters a msg may not hold."""
    text = f"{prefix} {row.kind.value} {row.value} ({row.name or row.stix_id}, TLP:{row.tlp})"
    return "".join(ch if ch.isprintable() and ch not in '";\\|' else "_" for ch in text)


def split_url(url: str) -> tuple[str, str] | None:
    """(host, path-and-query) of an http(s) URL, or None when it names no host."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.lower() not in ("http", "https"):
        return None
    host, slash, path = rest.partition("/")
    host = host.rsplit("@", 1)[-1]
    bracketed = host.startswith("[")  # an IPv6 literal keeps its colons
    host = host.split("]", 1)[0] + "]" if bracketed else host.split(":", 1)[0]
    path = (slash + path).split("#", 1)[0] or "/"
    return (host.lower(), path) if host else None
