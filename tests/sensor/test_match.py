"""Indicator patterns → observables, and batched matching on real log slices."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from minga.sensor.addresses import Ipv4Index, ipv4_column
from minga.sensor.indicators import load_objects, pattern_observables
from minga.sensor.match import IndicatorIndex, normalise_url
from minga.sensor.readers import read

FIXTURES = Path(__file__).parent / "fixtures"


def indicator(n: int, pattern: str, **extra: object) -> dict[str, object]:
    return {"type": "indicator", "id": f"indicator--{n:08d}-0000-4000-8000-000000000000",
            "name": f"i{n}", "pattern": pattern, "pattern_type": "stix", **extra}  # fmt: skip


def index_of(*patterns: str) -> IndicatorIndex:
    return IndicatorIndex(load_objects(indicator(i, p) for i, p in enumerate(patterns)))


def matches(index: IndicatorIndex, fixture: str) -> list[tuple[int, str, str, str, str]]:
    batch = read(str(FIXTURES / fixture))
    return sorted((m.line, m.field, m.value, m.name, m.why) for m in index.match(batch))


def test_pattern_observables():
    found, why = pattern_observables(
        "[ipv4-addr:value = '10.0.0.0/8' OR domain-name:value = 'evil.example']"
    )
    assert why is None
    assert [(o.kind, o.value) for o in found] == [("ip", "10.0.0.0/8"), ("domain", "evil.example")]
    found, _ = pattern_observables("[file:hashes.'SHA-256' = 'AB12']")
    assert [(o.kind, o.value) for o in found] == [("hash", "AB12")]
    found, _ = pattern_observables("[x509-certificate:hashes.'SHA-1' = 'aa']")
    assert found[0].kind == "cert"
    found, _ = pattern_observables("[network-traffic:extensions.'x-ja3s'.hash = 'ff']")
    assert found[0].kind == "ja3s"
    found, _ = pattern_observables("[domain-name:value IN ('a.example', 'b.example')]")
    assert [o.value for o in found] == ["a.example", "b.example"]
    _, why = pattern_observables("[ipv4-addr:value = '1.2.3.4'] AND [url:value = 'x']")
    assert why is not None and "several observables" in why
    _, why = pattern_observables("[email-addr:value = 'a@b.example']")
    assert why is not None and "not matched by the sensor" in why
    _, why = pattern_observables("[ipv4-addr:value = ")
    assert why is not None and "does not parse" in why
    # 'AND' inside a quoted value is not a combination
    found, why = pattern_observables("[url:value = 'http://x.example/?a=1 AND 2']")
    assert why is None and found[0].kind == "url"


def test_revoked_and_non_stix_indicators_are_left_out():
    loaded = load_objects([
        indicator(1, "[ipv4-addr:value = '1.2.3.4']", revoked=True),
        indicator(2, "alert tcp any any", pattern_type="snort"),
        indicator(3, "[ipv4-addr:value = '1.2.3.5']"),
        indicator(4, "[ipv4-addr:value = '1.2.3.6']", valid_until="2020-01-01T00:00:00Z"),
        indicator(5, "[ipv4-addr:value = '1.2.3.7']", valid_until="2999-01-01T00:00:00.000Z"),
    ])  # fmt: skip
    assert loaded.values == ["1.2.3.5", "1.2.3.7"]


def test_nested_cidrs_and_exact_addresses_on_conn_log():
    index = index_of(
        "[ipv4-addr:value = '192.168.1.0/24']",
        "[ipv4-addr:value = '192.168.0.0/16']",
        "[ipv4-addr:value = '192.168.1.114']",
        "[ipv4-addr:value = '192.168.1.255/24']",  # host bits ignored: the same /24
        "[ipv4-addr:value = '192.168.2.0/24']",
    )
    found = matches(index, "conn.log")
    line12 = [(f, v, n, w) for line, f, v, n, w in found if line == 12]
    assert line12 == [
        ("id.orig_h", "192.168.1.114", "i0", "address is inside listed 192.168.1.0/24"),
        ("id.orig_h", "192.168.1.114", "i1", "address is inside listed 192.168.0.0/16"),
        ("id.orig_h", "192.168.1.114", "i2", "address is listed"),
        ("id.orig_h", "192.168.1.114", "i3", "address is inside listed 192.168.1.0/24"),
    ]
    assert not any(n == "i4" for *_, n, _ in found)
    # every match is a record whose address really falls in the listed network
    batch = read(str(FIXTURES / "conn.log"))
    for m in index.match(batch):
        net = ipaddress.ip_network(m.listed)
        assert ipaddress.ip_address(m.value) in net
        assert batch.table.column(m.field)[m.row].as_py() == m.value


def test_ipv6_addresses_and_networks():
    index = index_of("[ipv6-addr:value = '2001:db8::/32']", "[ipv6-addr:value = '2001:db8::5']")
    found = matches(index, "eve.json")
    assert found == [
        (8, "dest_ip", "2001:db8:0:1::9", "i0", "address is inside listed 2001:db8::/32"),
        (8, "src_ip", "2001:db8::5", "i0", "address is inside listed 2001:db8::/32"),
        (8, "src_ip", "2001:db8::5", "i1", "address is listed"),
    ]


def test_subdomain_matches_listed_parent_on_label_boundaries():
    index = index_of(
        "[domain-name:value = 'gatyfus.com']",
        "[domain-name:value = 'fus.com']",  # a suffix, not a parent: must not match
        "[domain-name:value = 'KORFX.com.']",
    )
    http = matches(index, "http.log")
    assert http and {(f, v, n, w) for _, f, v, n, w in http} == {
        ("host", "gatyfus.com", "i0", "name is listed")
    }
    eve = matches(index, "eve.json")
    assert (2, "dns.rrname", "www.gatyfus.com", "i0", "subdomain of listed gatyfus.com") in eve
    assert (5, "tls.sni", "store.korfx.com", "i2", "subdomain of listed korfx.com") in eve
    assert not any(n == "i1" for *_, n, _ in http + eve)


def test_urls_are_normalised():
    assert normalise_url("HTTP://GatyFus.COM:80/login.php#top") == "gatyfus.com/login.php"
    assert normalise_url("https://a.example:443") == "a.example/"
    assert normalise_url("http://a.example:8080/x?q=1") == "a.example:8080/x?q=1"
    index = index_of("[url:value = 'HTTP://GATYFUS.com:80/login.php#frag']",
                     "[url:value = 'lyvyxor.com/login.php']")  # fmt: skip
    http = matches(index, "http.log")
    batch = read(str(FIXTURES / "http.log"))
    hosts = batch.table.column("host").to_pylist()
    uris = batch.table.column("uri").to_pylist()
    listed = {("gatyfus.com", "/login.php"): "i0", ("lyvyxor.com", "/login.php"): "i1"}
    expected = [
        (int(batch.lines[i]), "url", f"http://{h}{u}", listed[(h, u)], "URL (normalised) is listed")
        for i, (h, u) in enumerate(zip(hosts, uris, strict=True)) if (h, u) in listed
    ]  # fmt: skip
    assert len({n for *_, n, _ in expected}) == 2
    assert http == expected
    assert (4, "url", "http://LyVyXor.com/login.php", "i1", "URL (normalised) is listed") in (
        matches(index, "eve.json")
    )


def test_file_hashes_certificates_and_ja3():
    index = index_of(
        "[file:hashes.MD5 = 'CD5A4D3FDD5BFFC16BF959EF75CF37BC']",
        # the certificate of store.korfx.com as Zeek's files.log hashes it (pkix-cert)
        "[x509-certificate:hashes.'SHA-1' = 'b70197309e6bcbc25d20e1b894b724b209c46e0b']",
        "[network-traffic:extensions.'x-ja3'.hash = '6734f37431670b3ab4292b8f60f29984']",
        "[network-traffic:extensions.'x-ja3s'.hash = '4192c0a946c5bd9b544b4656d9f624a4']",
    )
    files = matches(index, "files.log")
    assert (9, "md5", "cd5a4d3fdd5bffc16bf959ef75cf37bc", "i0", "file hash is listed") in files
    assert (11, "sha1", "b70197309e6bcbc25d20e1b894b724b209c46e0b", "i1",
            "certificate hash is listed") in files  # fmt: skip
    eve = matches(index, "eve.json")
    whys = {(f, n, w) for _, f, _, n, w in eve}
    assert whys == {
        ("fileinfo.md5", "i0", "file hash is listed"),
        ("tls.fingerprint", "i1", "certificate hash is listed"),  # colons in eve's form
        ("tls.ja3.hash", "i2", "JA3 is listed"),
        ("tls.ja3s.hash", "i3", "JA3S is listed"),
    }


def test_no_indicator_no_match():
    assert matches(index_of("[ipv4-addr:value = '203.0.113.9']"), "conn.log") == []


dotted = st.tuples(*[st.integers(0, 300)] * 4).map(lambda t: ".".join(map(str, t)))
texts = st.one_of(dotted, st.text(alphabet="0123456789.:ab ", max_size=17), st.none())


@settings(max_examples=60, deadline=None)
@given(st.lists(texts, max_size=40), st.integers(0, 5))
def test_ipv4_column_agrees_with_ipaddress(values, skip):
    column = pa.array(values, pa.string()).slice(min(skip, len(values)))
    addresses, valid = ipv4_column(column)
    for value, address, ok in zip(column.to_pylist(), addresses, valid, strict=True):
        try:
            expected = int(ipaddress.IPv4Address(value)) if value is not None else None
        except ValueError:
            expected = None
        if value is not None and expected is None and _leading_zero_form(value):
            expected = int(ipaddress.IPv4Address(".".join(str(int(p)) for p in value.split("."))))
        assert (bool(ok), int(address) if ok else None) == (expected is not None, expected)


def _leading_zero_form(value: str) -> bool:
    """Zeek never writes '01.2.3.4'; the column reader reads it as 1.2.3.4, ipaddress refuses."""
    parts = value.split(".")
    return len(parts) == 4 and all(p.isdigit() and 0 < len(p) <= 3 and int(p) <= 255 for p in parts)


networks = st.tuples(st.integers(0, 2**32 - 1), st.integers(0, 32))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(networks, min_size=1, max_size=30), st.lists(st.integers(0, 2**32 - 1), max_size=50)
)
def test_ipv4_index_agrees_with_a_linear_scan(listed, probes):
    nets = [ipaddress.IPv4Network((a, n), strict=False) for a, n in listed]
    probes = (
        probes + [int(n.network_address) for n in nets] + [int(n.broadcast_address) for n in nets]
    )
    index = Ipv4Index(
        np.array([int(n.network_address) for n in nets], np.uint32),
        np.array([n.prefixlen for n in nets], np.uint8),
        np.arange(len(nets), dtype=np.int32),
    )
    addresses = np.array(probes, dtype=np.uint32)
    found = sorted(
        (row, owner) for row, owner, _, _ in index.lookup(addresses, np.ones(len(probes), bool))
    )
    expected = sorted(
        (row, owner) for row, p in enumerate(probes) for owner, n in enumerate(nets)
        if ipaddress.IPv4Address(p) in n
    )  # fmt: skip
    assert found == expected
