"""Warninglists: values that match an indicator syntax but are benign.

They are still returned by :func:`minga.extract.extract_iocs` when asked
(``include_benign=True``) with ``benign=True`` so that a UI can show them greyed.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from functools import cache
from importlib import resources

from .model import IocType
from .validate import parse_ipv4

__all__ = ["Warninglists", "is_benign", "warninglists"]

# Special-use names (RFC 2606, RFC 6761, RFC 8375) and the reverse-DNS tree.
_RESERVED_SUFFIXES = (
    ".test",
    ".example",
    ".invalid",
    ".localhost",
    ".local",
    ".internal",
    ".lan",
    ".home.arpa",
    ".arpa",
)

# Public DNS resolvers and similar infrastructure that reports mention as benign.
_BENIGN_IPS = frozenset(
    """
    8.8.8.8 8.8.4.4 1.1.1.1 1.0.0.1 9.9.9.9 149.112.112.112 208.67.222.222 208.67.220.220
    4.2.2.1 4.2.2.2 64.6.64.6 64.6.65.6 2001:4860:4860::8888 2001:4860:4860::8844
    2606:4700:4700::1111 2606:4700:4700::1001
    """.split()
)

# Hashes of the empty file: tools print them everywhere, they are never indicators.
_BENIGN_HASHES = frozenset(
    (
        "d41d8cd98f00b204e9800998ecf8427e",
        "da39a3ee5e6b4b0d3255bfef95601890afd80709",
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
        "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e",
    )
)


@dataclass(frozen=True, slots=True)
class Warninglists:
    """Parsed ``data/benign_domains.txt``."""

    domains: frozenset[str]  # benign with sub-domains, URLs and mailboxes included
    user_content: frozenset[str]  # benign domains whose URLs/mailboxes are user content
    exact: frozenset[str]  # only the exact name is benign
    mailboxes: frozenset[str] = frozenset()  # benign domains (and URLs) with free mailboxes

    def domain_benign(self, domain: str) -> bool:
        if domain in self.exact or domain.endswith(_RESERVED_SUFFIXES):
            return True
        return (
            self._suffix_in(domain, self.domains)
            or self._suffix_in(domain, self.user_content)
            or self._suffix_in(domain, self.mailboxes)
        )

    def content_benign(self, domain: str) -> bool:
        """Benign host for a URL."""
        if domain.endswith(_RESERVED_SUFFIXES):
            return True
        if self._suffix_in(domain, self.user_content):
            return False
        return self._suffix_in(domain, self.domains) or self._suffix_in(domain, self.mailboxes)

    def mailbox_benign(self, domain: str) -> bool:
        """Benign domain for an e-mail address (free-mail providers are not)."""
        if domain.endswith(_RESERVED_SUFFIXES):
            return True
        if self._suffix_in(domain, self.user_content) or self._suffix_in(domain, self.mailboxes):
            return False
        return self._suffix_in(domain, self.domains)

    @staticmethod
    def _suffix_in(domain: str, names: frozenset[str]) -> bool:
        if domain in names:
            return True
        dot = domain.find(".")
        while dot != -1:
            if domain[dot + 1 :] in names:
                return True
            dot = domain.find(".", dot + 1)
        return False


def _entries(name: str) -> list[str]:
    """The lower-case entries of a shipped ``data/`` list (blank lines and # comments left out)."""
    text = resources.files(__package__).joinpath(f"data/{name}").read_text("utf-8")
    lines = (raw.strip().lower() for raw in text.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


@cache
def warninglists() -> Warninglists:
    """Load the shipped warninglists once."""
    domains: set[str] = set()
    user: set[str] = set()
    exact: set[str] = set()
    mailboxes: set[str] = set()
    for line in _entries("benign_domains.txt"):
        if line[0] == "~":
            user.add(line[1:])
        elif line[0] == "=":
            exact.add(line[1:])
        elif line[0] == "@":
            mailboxes.add(line[1:])
        else:
            domains.add(line)
    return Warninglists(frozenset(domains), frozenset(user), frozenset(exact), frozenset(mailboxes))


# Non-global IPv4 ranges (RFC 6890 special-purpose registry), as (network, mask) ints.
_IPV4_SPECIAL = tuple(
    (int(net.network_address), int(net.netmask))
    for net in map(
        ipaddress.IPv4Network,
        """0.0.0.0/8 10.0.0.0/8 100.64.0.0/10 127.0.0.0/8 169.254.0.0/16 172.16.0.0/12
        192.0.0.0/24 192.0.2.0/24 192.88.99.0/24 192.168.0.0/16 198.18.0.0/15
        198.51.100.0/24 203.0.113.0/24 224.0.0.0/3""".split(),
    )
)


def _ip_benign(value: str) -> bool:
    if value in _BENIGN_IPS:
        return True
    if "/" not in value and ":" not in value:
        parts = value.split(".")
        if len(parts) == 4 and all(p.isdigit() for p in parts):
            num = int.from_bytes(bytes(int(p) & 255 for p in parts), "big")
            return any(num & mask == net for net, mask in _IPV4_SPECIAL)
    try:
        net = ipaddress.ip_network(value, strict=False)
    except ValueError:
        return False
    if net.is_multicast:
        return True
    return not net.is_global


def _host_of_url(url: str) -> str:
    rest = url.split("://", 1)[1] if "://" in url else url
    host = rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    host = host.rsplit("@", 1)[-1]
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.split(":", 1)[0].lower()


@cache
def benign_file_names() -> frozenset[str]:
    """Shipped ``data/benign_files.txt``: system programs and libraries named in prose."""
    return frozenset(_entries("benign_files.txt"))


# A well-known folder on its own ("copies itself to C:\Windows\System32") names no file.
_SYSTEM_FOLDERS = frozenset(
    line.strip()
    for line in r"""
    c:\windows
    c:\windows\system32
    c:\windows\syswow64
    c:\windows\temp
    c:\programdata
    c:\program files
    c:\program files (x86)
    c:\users
    c:\users\public
    %systemroot%
    %systemroot%\system32
    %windir%
    %windir%\system32
    %temp%
    %tmp%
    %appdata%
    %localappdata%
    %programdata%
    %programfiles%
    %userprofile%
    %public%
    /usr/bin
    /usr/sbin
    /usr/lib
    /var/tmp
    /dev/shm
    /etc/init.d
    /etc/cron.d
    """.splitlines()
    if line.strip()
)


def is_benign(kind: IocType, value: str) -> bool:
    """True when the (normalised) value is on a warninglist."""
    if kind is IocType.FILE_NAME:
        return value.lower() in benign_file_names()
    if kind is IocType.FILE_PATH:
        folder = value.lower().rstrip("\\/")
        return folder in _SYSTEM_FOLDERS
    lists = warninglists()
    if kind in (IocType.IPV4, IocType.IPV6, IocType.CIDR):
        return _ip_benign(value)
    if kind is IocType.DOMAIN:
        return lists.domain_benign(value)
    if kind is IocType.URL:
        host = _host_of_url(value)
        if ":" in host or parse_ipv4(host) is not None:
            return _ip_benign(host)
        return lists.content_benign(host)
    if kind is IocType.EMAIL:
        return lists.mailbox_benign(value.rsplit("@", 1)[-1])
    if kind in (IocType.MD5, IocType.SHA1, IocType.SHA256, IocType.SHA512):
        return value in _BENIGN_HASHES
    return False
