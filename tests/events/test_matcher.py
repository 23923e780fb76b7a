"""The compiled constituency matcher gives the naive scan's answer, for nested ranges too."""

from __future__ import annotations

import random

import numpy as np
import pytest

from minga.correlate import normalise
from minga.events.matcher import Asset, Matcher, naive_match, parse_asset


def _assets() -> list[Asset]:
    raw = [
        (1, "ip", "10.0.0.0/8"),
        (2, "ip", "10.1.0.0/16"),  # nested inside org 1's
        (3, "ip", "10.1.2.0/24"),
        (4, "ip", "192.0.2.7/32"),
        (5, "ip", "2001:db8::/32"),
        (6, "ip", "2001:db8:1::/48"),
        (1, "domain", "example.com"),
        (7, "domain", "shop.example.com"),
        (8, "domain", "bank.cr"),
        (9, "asn", "64500"),
    ]
    return [Asset(org, kind, value) for org, kind, value in raw]


@pytest.mark.parametrize(
    ("text", "wanted"),
    [
        ("10.1.2.3", {1, 2, 3}),
        ("10.1.9.9", {1, 2}),
        ("10.200.0.1", {1}),
        ("11.0.0.1", set()),
        ("192.0.2.7", {4}),
        ("192.0.2.8", set()),
        ("2001:db8:1::5", {5, 6}),
        ("2001:db8:2::5", {5}),
        ("2001:db9::1", set()),
        ("www.shop.example.com", {1, 7}),
        ("example.com", {1}),
        ("notexample.com", set()),
        ("online.bank.cr", {8}),
        ("https://login.bank.cr/x", {8}),
        ("http://10.1.2.3/gate.php", {1, 2, 3}),
        ("it@shop.example.com", {1, 7}),
        ("AS64500", {9}),
        ("AS64501", set()),
        ("d41d8cd98f00b204e9800998ecf8427f", set()),
        ("10.1.2.0/25", {1, 2, 3}),
    ],
)
def test_known_answers(text: str, wanted: set[int]) -> None:
    value = normalise.guess(text)
    assert value is not None
    matcher = Matcher(_assets())
    assert matcher.match(value) == wanted
    assert naive_match(_assets(), value) == wanted
    assert matcher.match_many([value]) == [wanted]


def test_random_addresses_agree_with_the_naive_scan() -> None:
    rng = random.Random(14)
    assets = []
    for org in range(300):
        base = rng.randrange(0, 2**32)
        length = rng.choice([8, 12, 16, 20, 24, 28, 32])
        net = base & ~((1 << (32 - length)) - 1) & 0xFFFFFFFF
        assets.append(Asset(org, "ip", f"{_dotted(net)}/{length}"))
    matcher = Matcher(assets)
    values = [normalise.ip(_dotted(rng.randrange(0, 2**32))) for _ in range(2000)]
    values += [normalise.ip(a.value.split("/")[0]) for a in assets]  # every first address
    found = matcher.match_many([v for v in values if v is not None])
    assert found == [naive_match(assets, v) for v in values if v is not None]
    assert any(found)  # the networks' own addresses match at least
    numbers = np.array([int(v.lo or "0", 16) for v in values if v], dtype=np.uint64)
    assert matcher.match_ipv4(numbers) == found


def _dotted(n: int) -> str:
    return f"{n >> 24}.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("AS64500", ("asn", "64500")),
        ("64500", ("asn", "64500")),
        ("192.0.2.1", ("ip", "192.0.2.1/32")),
        ("192.0.2.9/24", ("ip", "192.0.2.0/24")),
        ("2001:DB8::/32", ("ip", "2001:db8::/32")),
        ("*.Example.COM.", ("domain", "example.com")),
    ],
)
def test_assets_are_canonical(text: str, parsed: tuple[str, str]) -> None:
    assert parse_asset(text) == parsed


@pytest.mark.parametrize("text", ["AS", "ASx1", "not a domain", "300.1.1.1/8"])
def test_bad_assets_are_refused_with_a_sentence(text: str) -> None:
    with pytest.raises(ValueError, match="is not"):
        parse_asset(text, "ip" if "/" in text else None)
