"""Data model of the IOC-extraction engine."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["Ioc", "IocType", "ReportError"]


class IocType(StrEnum):
    """Kind of indicator of compromise."""

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
    CVE = "cve"
    ATTACK_TECHNIQUE = "attack_technique"
    FILE_PATH = "file_path"
    FILE_NAME = "file_name"
    REGISTRY_KEY = "registry_key"
    BITCOIN = "bitcoin"
    MONERO = "monero"
    ASN = "asn"


@dataclass(frozen=True, slots=True)
class Ioc:
    """One occurrence of an indicator in a text.

    ``value`` is the normalised (refanged, canonical-case) indicator, ``raw`` the exact
    text it was read from (``text[start:end]``), ``sentence`` the sentence around it and
    ``benign`` tells that the value is on a warninglist (documentation ranges, big
    platforms...) or is a URL the document only writes as a live hyperlink (a reference),
    so it should be shown greyed rather than shared as an indicator.
    """

    type: IocType
    value: str
    raw: str
    start: int
    end: int
    sentence: str
    benign: bool = False


class ReportError(ValueError):
    """A report cannot be read (corrupt, unsupported or too large)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
