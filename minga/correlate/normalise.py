"""Comparable values: one spelling per value, so that equal values are equal strings.

Domains lower-case, IDN as punycode, no trailing dot; URLs with scheme and host lower-case, the
default port and the fragment dropped, percent-escapes of unreserved characters decoded (RFC 3986
section 6.2.2); IPv6 compressed; a CIDR kept as its network (`10.0.0.0/8`, never `10.1.2.3/8`)
with its range; hashes lower-case. Besides the value, `lo`/`hi` keys make containment an indexed
range query: fixed-width hex for addresses (so text order is numeric order, and 128-bit IPv6
fits where a BIGINT would not), the reversed labels of a domain (`com.example.www.`, so the
subdomains of a domain are one key range).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import idna

MAX_VALUE = 2000  # characters of a value kept: a B-tree entry must stay well under a page

HASH_KINDS = {32: "md5", 40: "sha1", 64: "sha256", 128: "sha512"}
HEX_RE = re.compile(r"[0-9a-fA-F]+\Z")
DOMAIN_RE = re.compile(r"(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)+[a-z0-9-]{2,63}\Z")
_UNRESERVED = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
)  # fmt: skip
_PCT_RE = re.compile(r"%([0-9A-Fa-f]{2})")
DEFAULT_PORTS = {"http": 80, "https": 443, "ftp": 21, "ws": 80, "wss": 443}
URL_HOST = "["  # `lo` of a URL or mailbox whose host is an address: never a reversed domain


@dataclass(frozen=True, slots=True)
class Value:
    kind: str
    value: str
    lo: str | None = None
    hi: str | None = None


def hex_of(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    return f"{int(address):0{address.max_prefixlen // 4}x}"


def reversed_domain(domain: str) -> str:
    """`www.example.com` -> `com.example.www.`: a domain and its subdomains share a prefix."""
    return ".".join(reversed(domain.split("."))) + "."


def ip(text: str) -> Value | None:
    """An address or a network (CIDR), compressed; None if `text` is neither."""
    text = text.strip()
    if "/" in text:
        try:
            net = ipaddress.ip_network(text, strict=False)
        except ValueError:
            return None
        if net.prefixlen == net.max_prefixlen:
            return ip(str(net.network_address))
        kind = "ipv4-net" if net.version == 4 else "ipv6-net"
        return Value(kind, str(net), hex_of(net.network_address), hex_of(net.broadcast_address))
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    key = hex_of(addr)
    return Value("ipv4" if addr.version == 4 else "ipv6", str(addr), key, key)


def domain_name(text: str) -> str | None:
    """A domain name in its ASCII (punycode) lower-case form; None if it is not one."""
    name = text.strip().rstrip(".")
    if not name or len(name) > 253:
        return None
    if name.isascii():
        name = name.lower()
    else:
        try:
            name = idna.encode(name, uts46=True).decode("ascii")
        except idna.IDNAError:
            try:
                name = name.encode("idna").decode("ascii").lower()  # IDNA 2003, more lenient
            except UnicodeError:
                return None
    return name if DOMAIN_RE.match(name) else None


def domain(text: str) -> Value | None:
    name = domain_name(text)
    return Value("domain", name, reversed_domain(name)) if name else None


def _host_key(host: str) -> str | None:
    """`lo` of a URL or mailbox: the reversed domain, or `[` and the hex of an address."""
    found = ip(host)
    if found is not None:
        return URL_HOST + (found.lo or "")
    name = domain_name(host)
    return reversed_domain(name) if name else None


def _pct(match: re.Match[str]) -> str:
    char = chr(int(match.group(1), 16))
    return char if char in _UNRESERVED else "%" + match.group(1).upper()


def url(text: str) -> Value | None:
    """A normalised URL (a scheme-less one gets http://); None if it has no usable host."""
    text = text.strip()
    if "://" not in text:
        text = "http://" + text
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return None
    host = parts.hostname or ""
    if not host:
        return None
    scheme = parts.scheme.lower()
    found = ip(host)
    if found is not None:
        shown = f"[{found.value}]" if ":" in found.value else found.value
    else:
        name = domain_name(host)
        if name is None:
            return None
        shown = name
    netloc = shown if port is None or DEFAULT_PORTS.get(scheme) == port else f"{shown}:{port}"
    if parts.username is not None:
        auth = parts.username + (f":{parts.password}" if parts.password is not None else "")
        netloc = f"{auth}@{netloc}"
    path = _PCT_RE.sub(_pct, parts.path) or "/"
    query = _PCT_RE.sub(_pct, parts.query)
    value = urlunsplit((scheme, netloc, path, query, ""))[:MAX_VALUE]
    return Value("url", value, _host_key(host))


def email(text: str) -> Value | None:
    local, at, host = text.strip().rpartition("@")
    if not at or not local:
        return None
    key = _host_key(host.strip("[]"))
    if key is None:
        return None
    shown = host.lower() if key.startswith(URL_HOST) else domain_name(host)
    return Value("email", f"{local.lower()}@{shown}"[:MAX_VALUE], key)


def file_hash(text: str, kind: str | None = None) -> Value | None:
    """A hash, lower-case; its kind from `kind` (MD5, SHA-256...) or from its length."""
    value = text.strip().lower()
    if kind is not None:
        name = kind.lower().replace("-", "")
        if name in ("md5", "sha1", "sha256", "sha512"):
            return Value(name, value) if HEX_RE.match(value) else None
        if name in ("ssdeep", "tlsh", "sha3256", "sha3512"):
            return Value(name, value[:MAX_VALUE]) if value else None
        return None
    found = HASH_KINDS.get(len(value))
    return Value(found, value) if found and HEX_RE.match(value) else None


def plain(kind: str, text: str, *, lower: bool = False) -> Value | None:
    value = text.strip()
    if lower:
        value = value.lower()
    return Value(kind, value[:MAX_VALUE]) if value else None


def guess(text: str) -> Value | None:
    """A value typed by a person (`minga lookup 8.8.8.8 evil.example ...`): its kind recognised
    from its shape; defanged forms (hxxp, [.], (.)) are accepted."""
    text = text.strip()
    for fanged, real in (("[.]", "."), ("(.)", "."), ("{.}", "."), ("[:]", ":"), ("[@]", "@")):
        text = text.replace(fanged, real)
    if text.lower().startswith(("hxxp", "hxxps")):
        text = "http" + text[4:]
    if not text:
        return None
    if "://" in text:
        return url(text)
    found = ip(text) or file_hash(text)
    if found is not None:
        return found
    if "@" in text:
        return email(text)
    if text.upper().startswith("AS") and text[2:].isdigit():
        return Value("asn", str(int(text[2:])))
    if "/" in text:
        return url(text)
    return domain(text) or Value("text", text[:MAX_VALUE])


def supernets(value: Value) -> list[str]:
    """Every network (as stored, `a.b.c.d/n`) that contains the address or network `value`."""
    if value.kind not in ("ipv4", "ipv6", "ipv4-net", "ipv6-net"):
        return []
    net = ipaddress.ip_network(value.value, strict=False)
    return [str(net.supernet(new_prefix=n)) for n in range(net.prefixlen - 1, -1, -1)]


def parent_domains(name: str) -> list[str]:
    """`a.b.example.com` -> [`b.example.com`, `example.com`] (never a top-level domain alone)."""
    labels = name.split(".")
    return [".".join(labels[i:]) for i in range(1, len(labels) - 1)]
