"""False positives that other extractors make, and the warninglists."""

from __future__ import annotations

import pytest

from minga.extract import extract_iocs


def pairs(text: str, *, include_benign: bool = False) -> list[tuple[str, str]]:
    """(type, value) of every indicator found in ``text``, in text order."""
    return [(i.type.value, i.value) for i in extract_iocs(text, include_benign=include_benign)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # file names whose extension is a TLD
        (
            "Opens invoice.zip then factura.pl and config.py",
            [
                ("file_name", "invoice.zip"),
                ("file_name", "factura.pl"),
                ("file_name", "config.py"),
            ],
        ),
        (
            "O anexo fatura.one executa setup.sh",
            [("file_name", "fatura.one"), ("file_name", "setup.sh")],
        ),
        # ... unless something says it is a host
        ("El dominio factura.pl aloja el panel", [("domain", "factura.pl")]),
        (
            "Defanged factura[.]pl and www.invoice.zip",
            [
                ("domain", "factura.pl"),
                ("domain", "www.invoice.zip"),
            ],
        ),
        ("Listens on evil.zip:443", [("domain", "evil.zip")]),
        # version numbers read as IPs
        ("La versión 2.4.1.3 del troyano", []),
        ("Updated to version 10.0.0.1 yesterday", []),
        ("A versão 3.1.2.4 e o build 6.1.7601.1", []),
        ("Firmware v. 1.2.3.4 and v1.2.3.4 and 1.2.3.4.5", []),
        ("La versión 2.4.1.3 contacta 45.77.12.3.", [("ipv4", "45.77.12.3")]),
        # GUIDs read as MD5
        ("CLSID {3F2504E04F8911D39A0C0305E82C3301} and {3F2504E0-4F89-11D3-9A0C-0305E82C3301}", []),
        # .NET / COM / code identifiers read as domains
        (
            'CreateObject("WScript.Shell"), wscript.shell, System.IO.File, system.net, '
            "Scripting.FileSystemObject, System.Net.WebClient, document.write(x), $data.info",
            [],
        ),
        ("Detected as Win32/Spy.Agent.AG and MSIL/Kryptik.ABCD", []),
        ("Node.js, e.g. and i.e. at 9 p.m. in the U.S.A. version 3.5", []),
        # a path component is a file, not a host
        (r"Saved as \cousl\cousl.com by the script", [("file_name", "cousl.com")]),
        # Markdown table pipes and links
        (
            "| http://evil.com/a.php | 45.77.12.3 |",
            [
                ("url", "http://evil.com/a.php"),
                ("ipv4", "45.77.12.3"),
            ],
        ),
        ("|http://evil.com/a.php|hash|", [("url", "http://evil.com/a.php")]),
        (
            "[panel](hxxp://evil[.]com/admin/) and (http://evil.com/a_(b).php)",
            [
                ("url", "http://evil.com/admin/"),
                ("url", "http://evil.com/a_(b).php"),
            ],
        ),
        # non-breaking hyphens in CVE ids
        ("Vulnerabilidad CVE\u20112023\u201123397 explotada", [("cve", "CVE-2023-23397")]),
        # e-mail look-alikes
        ("admin@338 and image001.png@01D5A1B2.3C4D5E60", [("file_name", "image001.png")]),
        # what sits inside a URL is not reported twice
        (
            "Get http://45.77.12.3/evil.com/a.exe?u=x@evil.com",
            [
                ("url", "http://45.77.12.3/evil.com/a.exe?u=x@evil.com"),
            ],
        ),
    ],
)
def test_false_positive_filters(text: str, expected: list[tuple[str, str]]) -> None:
    assert pairs(text) == expected


def test_hash_inside_a_url_is_kept() -> None:
    sha = "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f"
    text = f"See https://www.virustotal.com/gui/file/{sha}/detection"
    assert pairs(text) == [("sha256", sha)]
    assert pairs(text, include_benign=True) == [
        ("url", f"https://www.virustotal.com/gui/file/{sha}/detection"),
        ("sha256", sha),
    ]


def test_warninglists_mark_benign_values() -> None:
    text = (
        "microsoft.com google.com example.com evil.com 192.168.1.1 127.0.0.1 8.8.8.8 "
        "198.51.100.7 10.0.0.0/8 45.77.12.3 d41d8cd98f00b204e9800998ecf8427e "
        "https://docs.microsoft.com/x https://drive.google.com/uc?id=1 ops@example.org "
        "x@gmail.com 2001:db8::1"
    )
    assert pairs(text) == [
        ("domain", "evil.com"),
        ("ipv4", "45.77.12.3"),
        ("url", "https://drive.google.com/uc?id=1"),
        ("email", "x@gmail.com"),
    ]
    benign = [(i.type.value, i.value) for i in extract_iocs(text, include_benign=True) if i.benign]
    assert benign == [
        ("domain", "microsoft.com"),
        ("domain", "google.com"),
        ("domain", "example.com"),
        ("ipv4", "192.168.1.1"),
        ("ipv4", "127.0.0.1"),
        ("ipv4", "8.8.8.8"),
        ("ipv4", "198.51.100.7"),
        ("cidr", "10.0.0.0/8"),
        ("md5", "d41d8cd98f00b204e9800998ecf8427e"),
        ("url", "https://docs.microsoft.com/x"),
        ("email", "ops@example.org"),
        ("ipv6", "2001:db8::1"),
    ]


def test_system_programs_named_in_prose_are_benign_but_not_their_odd_copies() -> None:
    text = (
        r"It runs cmd.exe, injects into explorer.exe, loads kernel32.dll and drops "
        r"C:\Users\Public\svchost.exe and factura.pdf.exe"
    )
    assert pairs(text) == [
        ("file_path", r"C:\Users\Public\svchost.exe"),
        ("file_name", "factura.pdf.exe"),
    ]
    benign = [(i.type.value, i.value) for i in extract_iocs(text, include_benign=True) if i.benign]
    assert benign == [
        ("file_name", "cmd.exe"),
        ("file_name", "explorer.exe"),
        ("file_name", "kernel32.dll"),
    ]


def test_bare_system_folders_wmi_namespaces_and_calls_are_not_files() -> None:
    text = (
        r'GetObject("winmgmts:\\.\root\cimv2"); console.log(x); copies to C:\Windows\System32 '
        r"then rundll32 C:\Windows\System32\wuaupd.dll,DllRegisterServer"
    )
    assert pairs(text) == [("file_path", r"C:\Windows\System32\wuaupd.dll")]
    benign = [(i.type.value, i.value) for i in extract_iocs(text, include_benign=True) if i.benign]
    assert benign == [("file_path", r"C:\Windows\System32")]


def test_dead_drop_urls_on_social_sites_stay_indicators() -> None:
    # Malware reads its C&C from a video description or a profile (ATT&CK T1102.001).
    text = (
        "Resolver: https://www.youtube.com/watch?v=dQw4w9 and https://twitter.com/evil_acct; "
        "the domain youtube.com itself is benign"
    )
    assert pairs(text) == [
        ("url", "https://www.youtube.com/watch?v=dQw4w9"),
        ("url", "https://twitter.com/evil_acct"),
    ]


def test_subdomains_of_dynamic_dns_are_not_benign() -> None:
    assert pairs("c2.ddns.net and ddns.net and evil.blogspot.com") == [
        ("domain", "c2.ddns.net"),
        ("domain", "evil.blogspot.com"),
    ]
