"""Normalised values: equal values are equal strings, and containment keys order correctly."""

from __future__ import annotations

import pytest

from minga.correlate import normalise as n
from minga.correlate.index import pattern_values, values_of


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("WWW.Example.COM.", "domain", "www.example.com"),
        ("bücher.example", "domain", "xn--bcher-kva.example"),
        (
            "HTTP://Evil.EXAMPLE:80/a/%7euser/%2f?q=1#top",
            "url",
            "http://evil.example/a/~user/%2F?q=1",
        ),
        ("https://evil.example:8443", "url", "https://evil.example:8443/"),
        ("hxxp://evil[.]example/x", "url", "http://evil.example/x"),
        ("2001:0DB8:0000:0000:0000:0000:0000:0001", "ipv6", "2001:db8::1"),
        ("10.1.2.3/8", "ipv4-net", "10.0.0.0/8"),
        ("10.1.2.3/32", "ipv4", "10.1.2.3"),
        ("::ffff:192.0.2.1", "ipv4", "192.0.2.1"),
        ("D41D8CD98F00B204E9800998ECF8427E", "md5", "d41d8cd98f00b204e9800998ecf8427e"),
        ("Phish@Evil.Example", "email", "phish@evil.example"),
        ("AS64500", "asn", "64500"),
    ],
)
def test_guess_normalises(text: str, kind: str, value: str) -> None:
    found = n.guess(text)
    assert found is not None
    assert (found.kind, found.value) == (kind, value)


def test_range_keys_order_numerically() -> None:
    net = n.ip("10.0.0.0/8")
    inside, outside = n.ip("10.255.0.1"), n.ip("11.0.0.0")
    assert net and inside and outside and net.lo and net.hi and inside.lo and outside.lo
    assert net.lo <= inside.lo <= net.hi < outside.lo
    v6 = n.ip("2001:db8::/32")
    addr = n.ip("2001:db8:ffff::1")
    assert v6 and addr and v6.lo and v6.hi and addr.lo and v6.lo <= addr.lo <= v6.hi
    assert len(addr.lo) == 32
    assert n.supernets(n.Value("ipv4", "10.1.2.3"))[:2] == ["10.1.2.2/31", "10.1.2.0/30"]
    assert n.supernets(n.Value("ipv4", "10.1.2.3"))[-1] == "0.0.0.0/0"


def test_domain_keys_group_subdomains() -> None:
    parent, child, other = (
        n.domain("evil.example"),
        n.domain("a.b.evil.example"),
        n.domain("notevil.example"),
    )
    assert parent and child and other and parent.lo and child.lo and other.lo
    assert child.lo.startswith(parent.lo) and not other.lo.startswith(parent.lo)
    assert n.parent_domains("a.b.evil.example") == ["b.evil.example", "evil.example"]
    found = n.url("http://a.evil.example/x")
    assert found is not None and found.lo == "example.evil.a."
    on_ip = n.url("http://192.0.2.1:8080/x")
    assert on_ip is not None and on_ip.lo == "[c0000201"


def test_values_of_patterns_and_observables() -> None:
    simple = pattern_values(
        "[ipv4-addr:value = '198.51.100.7' OR url:value = 'http://EVIL.example/a']"
    )
    assert [(v.kind, v.value) for v in simple] == [
        ("ipv4", "198.51.100.7"),
        ("url", "http://evil.example/a"),
    ]
    complex_ = pattern_values(
        "[domain-name:value IN ('a.example', 'B.example')] FOLLOWEDBY "
        "[file:hashes.'SHA-256' = 'AA" + "a" * 62 + "'] WITHIN 60 SECONDS"
    )
    assert [(v.kind, v.value) for v in complex_] == [
        ("domain", "a.example"),
        ("domain", "b.example"),
        ("sha256", "a" * 64),
    ]
    # Comparisons that describe many values are not indexed.
    assert pattern_values("[url:value LIKE 'http://%.example/']") == []
    assert pattern_values("[domain-name:value MATCHES '^evil']") == []
    sco = values_of(
        {"type": "file", "id": "file--x", "name": "dropper.exe", "hashes": {"SHA-1": "AB" * 20}}
    )
    assert [(v.kind, v.value) for v in sco] == [("sha1", "ab" * 20), ("filename", "dropper.exe")]
    assert values_of({"type": "malware", "name": "Conti"}) == []
    assert values_of({"type": "indicator", "pattern": "x", "pattern_type": "sigma"}) == []
