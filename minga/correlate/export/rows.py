"""What every export writer reads: one comparable value of one visible indicator."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    """The kinds of value a feed carries (the extractor's names, `minga.extract.IocType`)."""

    IPV4 = "ipv4"
    IPV6 = "ipv6"
    CIDR = "cidr"
    DOMAIN = "domain"
    URL = "url"
    EMAIL = "email"
    MD5 = "md5"
    SHA1 = "sha1"
    SHA256 = "sha256"
    SHA512 = "sha512"


HASHES = frozenset({Kind.MD5, Kind.SHA1, Kind.SHA256, Kind.SHA512})
ADDRESSES = frozenset({Kind.IPV4, Kind.IPV6, Kind.CIDR})


@dataclass(frozen=True, slots=True)
class ExportRow:
    """One value of one indicator, with the facts a consumer or a filter needs.

    `raw` is the indicator's stored STIX JSON (the STIX and MISP writers keep its context);
    rows of one indicator arrive one after another.
    """

    kind: Kind
    value: str
    stix_id: str
    tlp: str
    score: int | None = None
    valid_until: str | None = None
    org: str = ""
    country: str = ""
    sector: str = ""
    name: str = ""
    modified: str = ""
    raw: str = ""


@dataclass(frozen=True, slots=True)
class ExportMeta:
    """About the export as a whole: who made it and when (headers, serials, bundle ids)."""

    node: str
    # The newest change among the exported indicators (never the clock: the same data gives
    # the same bytes, so a feed's ETag holds until something changes).
    as_of: str  # RFC 3339, UTC
    serial: int  # the same moment in seconds since the epoch (the RPZ zone's SOA serial)
    description: str = ""
