"""STIX 2.1 patterns for extracted indicators."""

from __future__ import annotations

from .model import Ioc, IocType

__all__ = ["ioc_to_stix_pattern"]

_HASH_NAMES = {
    IocType.MD5: "MD5",
    IocType.SHA1: "SHA-1",
    IocType.SHA256: "SHA-256",
    IocType.SHA512: "SHA-512",
}
_SIMPLE = {
    IocType.IPV4: "ipv4-addr:value",
    IocType.IPV6: "ipv6-addr:value",
    IocType.DOMAIN: "domain-name:value",
    IocType.URL: "url:value",
    IocType.EMAIL: "email-addr:value",
    IocType.FILE_NAME: "file:name",
    IocType.BITCOIN: "x-crypto-wallet:address",  # custom object: STIX has no wallet SCO
    IocType.MONERO: "x-crypto-wallet:address",
}
_HIVES = {
    "HKLM": "HKEY_LOCAL_MACHINE",
    "HKCU": "HKEY_CURRENT_USER",
    "HKCR": "HKEY_CLASSES_ROOT",
    "HKU": "HKEY_USERS",
    "HKCC": "HKEY_CURRENT_CONFIG",
}


def _quote(value: str) -> str:
    """STIX pattern string literal: back-slashes and single quotes escaped."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def ioc_to_stix_pattern(ioc: Ioc) -> str | None:
    """STIX 2.1 pattern matching the indicator, or None for CVE and ATT&CK ids.

    CVEs and techniques become ``vulnerability`` / ``attack-pattern`` objects, not
    indicator patterns.
    """
    kind = ioc.type
    value = ioc.value
    if kind in (IocType.CVE, IocType.ATTACK_TECHNIQUE):
        return None
    if kind in _HASH_NAMES:
        return f"[file:hashes.'{_HASH_NAMES[kind]}' = {_quote(value)}]"
    if kind is IocType.CIDR:
        prop = "ipv6-addr:value" if ":" in value else "ipv4-addr:value"
        return f"[{prop} = {_quote(value)}]"
    if kind is IocType.ASN:
        return f"[autonomous-system:number = {int(value[2:])}]"
    if kind is IocType.REGISTRY_KEY:
        hive, sep, rest = value.partition("\\")
        full = _HIVES.get(hive.upper(), hive) + sep + rest
        return f"[windows-registry-key:key = {_quote(full)}]"
    if kind is IocType.FILE_PATH:
        sep = "\\" if "\\" in value else "/"
        parent, _, name = value.rpartition(sep)
        if not parent or not name:
            return f"[directory:path = {_quote(value)}]"
        return f"[file:name = {_quote(name)} AND file:parent_directory_ref.path = {_quote(parent)}]"
    return f"[{_SIMPLE[kind]} = {_quote(value)}]"
