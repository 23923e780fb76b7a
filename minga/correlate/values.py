"""The comparable values of a STIX indicator pattern, for feeds.

Equality comparisons (and ISSUBSET for ranges) on the observable paths a defence tool can
match: addresses, domains, URLs, e-mail addresses and file hashes. Values are normalised as
the observable index does (domains lower-case and IDN as punycode, IPv6 compressed, ranges in
canonical form, hashes lower-case). The observable index (`minga.correlate`'s own table)
replaces this parsing where it is present; patterns are parsed with one regular expression
because ANTLR's full parser costs milliseconds per pattern, hours at a million indicators.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator

from minga.correlate.export.rows import Kind

# object-type:path OP 'string' — the string with STIX's escapes (\' and \\).
_COMPARISON = re.compile(r"([a-z0-9-]+):([A-Za-z0-9_.'\-]+)\s*(=|ISSUBSET)\s*'((?:[^'\\]|\\.)*)'")
_HASHES = {
    "md5": Kind.MD5,
    "sha-1": Kind.SHA1,
    "sha1": Kind.SHA1,
    "sha-256": Kind.SHA256,
    "sha256": Kind.SHA256,
    "sha-512": Kind.SHA512,
    "sha512": Kind.SHA512,
}
_HEX = re.compile(r"^[0-9a-f]+$")
_HASH_LENGTH = {Kind.MD5: 32, Kind.SHA1: 40, Kind.SHA256: 64, Kind.SHA512: 128}


def _address(value: str) -> tuple[Kind, str] | None:
    try:
        net = ipaddress.ip_network(value, strict=False)
    except ValueError:
        return None
    if net.num_addresses > 1:
        return Kind.CIDR, str(net)
    return (Kind.IPV4 if net.version == 4 else Kind.IPV6), str(net.network_address)


def _domain(value: str) -> str | None:
    name = value.strip().rstrip(".").lower()
    if not name or " " in name:
        return None
    try:
        return name.encode("idna").decode("ascii")
    except UnicodeError:
        return name if name.isascii() else None


def normalise(object_type: str, path: str, value: str) -> tuple[Kind, str] | None:
    """(kind, normalised value) of one comparison, or None when no feed carries it."""
    if object_type in ("ipv4-addr", "ipv6-addr") and path == "value":
        return _address(value.strip())
    if object_type == "domain-name" and path == "value":
        name = _domain(value)
        return (Kind.DOMAIN, name) if name else None
    if object_type == "url" and path == "value":
        return (Kind.URL, value.strip()) if "://" in value else None
    if object_type == "email-addr" and path == "value":
        local, at, domain = value.strip().rpartition("@")
        host = _domain(domain) if at and local else None
        return (Kind.EMAIL, f"{local}@{host}") if host else None
    if object_type in ("file", "artifact") and path.startswith("hashes."):
        algorithm = path.removeprefix("hashes.").strip("'").lower()
        kind = _HASHES.get(algorithm)
        digest = value.strip().lower()
        if kind and len(digest) == _HASH_LENGTH[kind] and _HEX.match(digest):
            return kind, digest
    return None


def pattern_values(pattern: str) -> Iterator[tuple[Kind, str]]:
    """Each distinct (kind, value) a STIX pattern compares against, in pattern order."""
    seen: set[tuple[Kind, str]] = set()
    for object_type, path, _op, raw in _COMPARISON.findall(pattern):
        value = raw.replace("\\'", "'").replace("\\\\", "\\")
        found = normalise(object_type, path, value)
        if found and found not in seen:
            seen.add(found)
            yield found
