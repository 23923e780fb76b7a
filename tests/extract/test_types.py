"""One test per indicator type: text in, exact indicators out."""

from __future__ import annotations

import pytest

from minga.extract import extract_iocs


def pairs(text: str, *, include_benign: bool = False) -> list[tuple[str, str]]:
    """(type, value) of every indicator found in ``text``, in text order."""
    return [(i.type.value, i.value) for i in extract_iocs(text, include_benign=include_benign)]


SHA1 = "5f1a4d1c1b2e8c3d4a5b6c7d8e9f0a1b2c3d4e5f"
SHA256 = "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f"
SHA512 = "0123456789abcdef" * 8
XMR = (
    "44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3X"
    "jrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A"
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The loader connects to 45.77.12.3 on port 443.", [("ipv4", "45.77.12.3")]),
        ("C2 at 45.77.12.3:8080 and 45.77.12.4,", [("ipv4", "45.77.12.3"), ("ipv4", "45.77.12.4")]),
        ("Invalid 300.1.2.3 and 01.2.3.4 are ignored.", []),
        (
            "IPv6 2a03:2880:f003:c07:face:b00c::2 seen",
            [("ipv6", "2a03:2880:f003:c07:face:b00c:0:2")],
        ),
        (
            "Ranges 45.77.12.0/24 and 2a03:2880::/32.",
            [("cidr", "45.77.12.0/24"), ("cidr", "2a03:2880::/32")],
        ),
        ("Resolves update-check.evil.com daily.", [("domain", "update-check.evil.com")]),
        ("Upper-case EVIL-HOST.NET too", [("domain", "evil-host.net")]),
        ("C&C: Update.Microsoft-Cdn.Com", [("domain", "update.microsoft-cdn.com")]),
        ("Loads Update.Microsoft-Cdn.Com at start", []),  # odd case, nothing says host
        (
            "Leak site lockbitapt2d73krlbewgv27tquljgxr33xbwwsp6rkyieto7u4ncead[.]onion and "
            "old 3g2upl4pq6kufc4m.onion; not an address: 1a2b3c.onion",
            [
                ("domain", "lockbitapt2d73krlbewgv27tquljgxr33xbwwsp6rkyieto7u4ncead.onion"),
                ("domain", "3g2upl4pq6kufc4m.onion"),
            ],
        ),
        (
            "Namecoin C&C: vpnkeep.bit, http://vpnomnet.bit/r/z.php; prose: a 64.bit key",
            [("domain", "vpnkeep.bit"), ("url", "http://vpnomnet.bit/r/z.php")],
        ),
        (
            "Panel at http://3g2upl4pq6kufc4m.onion/login.php",
            [("url", "http://3g2upl4pq6kufc4m.onion/login.php")],
        ),
        (
            "Get https://evil.com/a/b.php?id=1&x=2#f.",
            [("url", "https://evil.com/a/b.php?id=1&x=2#f")],
        ),
        ("Payload at evil.com/dl/payload.bin today", [("url", "evil.com/dl/payload.bin")]),
        ("Payload at 45.77.12.3/dl/a.exe today", [("url", "45.77.12.3/dl/a.exe")]),
        ("Mail from John.Doe+x@Mail.Evil.co.uk.", [("email", "john.doe+x@mail.evil.co.uk")]),
        ("md5 D41D8CD98F00B204E9800998ECF8427F", [("md5", "d41d8cd98f00b204e9800998ecf8427f")]),
        (f"sha1 {SHA1}", [("sha1", SHA1)]),
        (f"sha256: `{SHA256}`", [("sha256", SHA256)]),
        (f"sha512 {SHA512}", [("sha512", SHA512)]),
        ("Hex runs of other lengths: " + "a1" * 20 + "b", []),
        (
            "Exploits CVE-2017-11882 and cve_2021_44228.",
            [("cve", "CVE-2017-11882"), ("cve", "CVE-2021-44228")],
        ),
        (
            "Uses T1059, T1059.001 and T1566.002.",
            [
                ("attack_technique", "T1059"),
                ("attack_technique", "T1059.001"),
                ("attack_technique", "T1566.002"),
            ],
        ),
        ("Tactic TA0001 is not a technique", []),
        (
            r"Drops C:\Program Files (x86)\Evil Corp\evil.exe and quits",
            [("file_path", r"C:\Program Files (x86)\Evil Corp\evil.exe")],
        ),
        (r"Copies to %APPDATA%\Microsoft\x.dll.", [("file_path", r"%APPDATA%\Microsoft\x.dll")]),
        (
            r"Reads \\fileserver\share\tools\x.exe",
            [("file_path", r"\\fileserver\share\tools\x.exe")],
        ),
        (
            "Edits /etc/cron.d/update and ~/.ssh/authorized_keys.",
            [
                ("file_path", "/etc/cron.d/update"),
                ("file_path", "~/.ssh/authorized_keys"),
            ],
        ),
        # AsciiDoc passthroughs (ESET) close with the '+' that opened them
        (
            "| `++C:\\Users\\Public\\evil.exe++` | `++/tmp/.xs/evil.sh++`",
            [("file_path", r"C:\Users\Public\evil.exe"), ("file_path", "/tmp/.xs/evil.sh")],
        ),
        ("Attachment invoice_2024.docm opens", [("file_name", "invoice_2024.docm")]),
        (
            r"Persists in HKCU\Software\Microsoft\Windows\CurrentVersion\Run = C:\x.exe",
            [
                ("registry_key", r"HKCU\Software\Microsoft\Windows\CurrentVersion\Run"),
                ("file_path", r"C:\x.exe"),
            ],
        ),
        (
            r"Key HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Winlogon.",
            [("registry_key", r"HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Winlogon")],
        ),
        (
            r"Checks [HKEY_CURRENT_USER\Software\Microsoft\IE] or [HKLM\SOFTWARE\Wow6432Node\ODBC]",
            [
                ("registry_key", r"HKCU\Software\Microsoft\IE"),
                ("registry_key", r"HKLM\SOFTWARE\Wow6432Node\ODBC"),
            ],
        ),
        (
            "Pay 1BoatSLRHtKNngkdXEeobR76b53LETtpyT or bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
            [
                ("bitcoin", "1BoatSLRHtKNngkdXEeobR76b53LETtpyT"),
                ("bitcoin", "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"),
            ],
        ),
        ("Bad checksum 1BoatSLRHtKNngkdXEeobR76b53LETtpyA", []),
        (f"Monero {XMR}", [("monero", XMR)]),
        (
            "Hosted in AS13335, ASN 15169 and AS 4134 (AS400 is a computer).",
            [
                ("asn", "AS13335"),
                ("asn", "AS15169"),
                ("asn", "AS4134"),
            ],
        ),
    ],
)
def test_each_type(text: str, expected: list[tuple[str, str]]) -> None:
    assert pairs(text) == expected
