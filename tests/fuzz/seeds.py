"""Seed inputs per fuzz target: small valid examples the fuzzers mutate from."""

from __future__ import annotations

import orjson

from tests.factories import indicator, malware, sid
from tests.ingest.test_misp_csv_stages import CSIRTAMERICAS, EVENT

_OBSERVED_20 = {
    "type": "observed-data",
    "id": sid("observed-data", 1),
    "created": "2024-01-01T00:00:00.000Z",
    "modified": "2024-01-01T00:00:00.000Z",
    "first_observed": "2024-01-01T00:00:00Z",
    "last_observed": "2024-01-01T00:00:00Z",
    "number_observed": 1,
    "objects": {"0": {"type": "ipv4-addr", "value": "198.51.100.1"},
                "1": {"type": "network-traffic", "dst_ref": "0", "protocols": ["tcp"]}},
}  # fmt: skip


def _bundle(objs: list, version: str | None = None) -> bytes:
    body: dict = {"type": "bundle", "id": sid("bundle", 9), "objects": objs}
    if version:
        body["spec_version"] = version
    return orjson.dumps(body)


STIX = [
    orjson.dumps(indicator(1)),
    orjson.dumps(malware(2, created_by_ref=sid("identity", 3), object_marking_refs=[])),
    orjson.dumps({"type": "ipv4-addr", "id": sid("ipv4-addr", 4), "value": "198.51.100.4"}),
    orjson.dumps(indicator(5, pattern="([a:b = 'x'] AND [c:d > 5]) WITHIN 5 SECONDS")),
]
FILES = [
    _bundle([indicator(1), malware(2)]),
    _bundle([_OBSERVED_20, {**malware(3), "spec_version": "2.0", "labels": ["trojan"]}], "2.0"),
    orjson.dumps(EVENT),
]
SEEDS: dict[str, list[bytes]] = {
    "stix_check": STIX,
    "ingest_decode": FILES,
    "stix_upgrade": FILES,
    "csv_import": [CSIRTAMERICAS.encode(), b"indicator\n198.51.100.1\nhxxp://evil[.]com/x\n"],
    "misp_import": [orjson.dumps(EVENT)],
    "taxii_params": [
        b"limit=10&added_after=2024-01-01T00:00:00Z&match[type]=indicator,malware",
        b"next=YToxOjE&match[version]=all&match[spec_version]=2.1&match[id]="
        + sid("x", 1).encode(),
    ],
    "extractor": [
        b"C2 en 203.0.113[.]9 y hxxps://phish-bank[.]com/login; "
        b"hash d41d8cd98f00b204e9800998ecf8427f",
        b"CVE-2024-3400 T1059.001 C:\\Users\\x\\evil.dll "
        b"bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
    ],
    "report_reader": [
        b"<html><body><p>IOC: 198.51.100.7</p></body></html>",
        b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF",
        b"plain text report 198.51.100.8",
    ],
}
