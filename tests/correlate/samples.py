"""Export rows as the index would give them: awkward values included (IDN, IPv6, ranges, URLs
with characters rule languages treat specially)."""

from __future__ import annotations

from minga.correlate.export.rows import ExportMeta, ExportRow, Kind

META = ExportMeta(node="node-a", as_of="2026-11-30T10:00:00Z", serial=1796032800)


def row(kind: Kind, value: str, n: int = 1, **extra: object) -> ExportRow:
    defaults: dict[str, object] = {
        "stix_id": f"indicator--00000000-0000-4000-8000-{n:012d}",
        "tlp": "amber",
        "score": 70,
        "valid_until": "2027-01-01T00:00:00Z",
        "org": "CSIRT-GT",
        "country": "GT",
        "sector": "government",
        "name": f"Indicator {n}",
        "modified": "2026-11-30T10:00:00.000Z",
    }
    defaults.update(extra)
    return ExportRow(kind, value, **defaults)  # type: ignore[arg-type]


ROWS = [
    row(Kind.IPV4, "45.77.12.34", 1),
    row(Kind.IPV6, "2a01:4f8:c17:b8f::2", 2),
    row(Kind.CIDR, "185.220.100.0/22", 3),
    row(Kind.CIDR, "2a0b:f4c0::/32", 4),
    row(Kind.DOMAIN, "evil-update.net", 5),
    row(Kind.DOMAIN, "xn--bcher-kva.example.org", 6),
    row(Kind.DOMAIN, "login.secure-bank.com.gt", 7, name='Phish "kit"; with | pipes'),
    row(Kind.URL, 'http://evil-update.net/a b/c;d|e"f?x=1&y=%20', 8),
    row(Kind.URL, "https://Cdn.Evil-Update.net:8443/payload.exe", 9),
    row(Kind.EMAIL, "ceo@secure-bank.com.gt", 10),
    row(Kind.MD5, "44d88612fea8a8f36de82e1278abb02f", 11),
    row(Kind.SHA1, "3395856ce81f2b7382dee72602f798b642f14140", 12),
    row(Kind.SHA256, "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f", 13),
    row(Kind.IPV4, "45.77.12.34", 14, tlp="clear", org="CSIRT-HN", country="HN"),
]
