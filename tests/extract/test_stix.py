"""STIX 2.1 patterns of extracted indicators."""

from __future__ import annotations

import pytest
from stix2patterns.validator import run_validator

from minga.extract import Ioc, IocType, extract_iocs, ioc_to_stix_pattern


def _ioc(kind: IocType, value: str) -> Ioc:
    return Ioc(kind, value, value, 0, len(value), value, False)


@pytest.mark.parametrize(
    ("kind", "value", "pattern"),
    [
        (IocType.IPV4, "1.2.3.4", "[ipv4-addr:value = '1.2.3.4']"),
        (IocType.IPV6, "2001:db8::1", "[ipv6-addr:value = '2001:db8::1']"),
        (IocType.CIDR, "10.0.0.0/8", "[ipv4-addr:value = '10.0.0.0/8']"),
        (IocType.CIDR, "2001:db8::/32", "[ipv6-addr:value = '2001:db8::/32']"),
        (IocType.DOMAIN, "evil.com", "[domain-name:value = 'evil.com']"),
        (IocType.URL, "http://evil.com/a'b", "[url:value = 'http://evil.com/a\\'b']"),
        (IocType.EMAIL, "a@evil.com", "[email-addr:value = 'a@evil.com']"),
        (
            IocType.MD5,
            "d41d8cd98f00b204e9800998ecf8427e",
            "[file:hashes.'MD5' = 'd41d8cd98f00b204e9800998ecf8427e']",
        ),
        (IocType.SHA1, "a" * 40, f"[file:hashes.'SHA-1' = '{'a' * 40}']"),
        (IocType.SHA256, "b" * 64, f"[file:hashes.'SHA-256' = '{'b' * 64}']"),
        (IocType.SHA512, "c" * 128, f"[file:hashes.'SHA-512' = '{'c' * 128}']"),
        (IocType.FILE_NAME, "invoice.zip", "[file:name = 'invoice.zip']"),
        (
            IocType.FILE_PATH,
            "C:\\Users\\x.exe",
            "[file:name = 'x.exe' AND file:parent_directory_ref.path = 'C:\\\\Users']",
        ),
        (
            IocType.FILE_PATH,
            "/tmp/x.sh",
            "[file:name = 'x.sh' AND file:parent_directory_ref.path = '/tmp']",
        ),
        (
            IocType.REGISTRY_KEY,
            "HKCU\\Software\\Run",
            "[windows-registry-key:key = 'HKEY_CURRENT_USER\\\\Software\\\\Run']",
        ),
        (IocType.ASN, "AS13335", "[autonomous-system:number = 13335]"),
        (
            IocType.BITCOIN,
            "1BoatSLRHtKNngkdXEeobR76b53LETtpyT",
            "[x-crypto-wallet:address = '1BoatSLRHtKNngkdXEeobR76b53LETtpyT']",
        ),
        (IocType.CVE, "CVE-2021-44228", None),
        (IocType.ATTACK_TECHNIQUE, "T1059.001", None),
    ],
)
def test_patterns(kind: IocType, value: str, pattern: str | None) -> None:
    result = ioc_to_stix_pattern(_ioc(kind, value))
    assert result == pattern
    if result is not None:
        assert run_validator(result, stix_version="2.1") == []


def test_every_extracted_indicator_gives_a_valid_pattern() -> None:
    text = (
        "hxxp://evil[.]com/a?q=x 45.77.12.3 user@evil.com C:\\Temp\\a.exe "
        "HKLM\\Software\\Evil AS64500 d41d8cd98f00b204e9800998ecf8427f"
    )
    patterns = [ioc_to_stix_pattern(i) for i in extract_iocs(text)]
    assert patterns == [
        "[url:value = 'http://evil.com/a?q=x']",
        "[ipv4-addr:value = '45.77.12.3']",
        "[email-addr:value = 'user@evil.com']",
        "[file:name = 'a.exe' AND file:parent_directory_ref.path = 'C:\\\\Temp']",
        "[windows-registry-key:key = 'HKEY_LOCAL_MACHINE\\\\Software\\\\Evil']",
        "[autonomous-system:number = 64500]",
        "[file:hashes.'MD5' = 'd41d8cd98f00b204e9800998ecf8427f']",
    ]
    assert all(run_validator(p, stix_version="2.1") == [] for p in patterns if p)
