"""Checksum and range validators used to reject look-alike candidates."""

from __future__ import annotations

import hashlib
import ipaddress

__all__ = [
    "is_bitcoin_address",
    "parse_ipv4",
    "parse_ipv6",
]

_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {c: i for i, c in enumerate(_B58)}
_BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_BECH32_INDEX = {c: i for i, c in enumerate(_BECH32)}
_BECH32_GEN = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
_BECH32_CONST = 1
_BECH32M_CONST = 0x2BC830A3


def _base58check(value: str) -> bool:
    num = 0
    for char in value:
        digit = _B58_INDEX.get(char)
        if digit is None:
            return False
        num = num * 58 + digit
    pad = len(value) - len(value.lstrip("1"))
    raw = num.to_bytes((num.bit_length() + 7) // 8, "big")
    data = b"\x00" * pad + raw
    if len(data) != 25:
        return False
    payload, checksum = data[:-4], data[-4:]
    return hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4] == checksum


def _bech32_polymod(values: list[int]) -> int:
    chk = 1
    for value in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ value
        for i, gen in enumerate(_BECH32_GEN):
            if (top >> i) & 1:
                chk ^= gen
    return chk


def _bech32(value: str) -> bool:
    if value.lower() != value and value.upper() != value:
        return False
    value = value.lower()
    hrp, _, data_part = value.rpartition("1")
    if hrp != "bc" or len(data_part) < 6:
        return False
    data = [_BECH32_INDEX.get(c, -1) for c in data_part]
    if -1 in data:
        return False
    expanded = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    return _bech32_polymod(expanded + data) in (_BECH32_CONST, _BECH32M_CONST)


def is_bitcoin_address(value: str) -> bool:
    """Base58Check (P2PKH/P2SH) or bech32/bech32m (segwit/taproot) mainnet address."""
    if value[:3].lower() == "bc1":
        return _bech32(value)
    return _base58check(value)


def parse_ipv4(value: str) -> str | None:
    """Canonical dotted quad, or None when an octet is out of range or zero-padded."""
    parts = value.split(".")
    if len(parts) != 4:
        return None
    for part in parts:
        if not part.isdigit() or len(part) > 3 or int(part) > 255:
            return None
        if len(part) > 1 and part[0] == "0":
            return None
    return value


def parse_ipv6(value: str) -> str | None:
    """Compressed lower-case form, or None if not an IPv6 address."""
    try:
        return ipaddress.IPv6Address(value).compressed
    except ValueError:
        return None
