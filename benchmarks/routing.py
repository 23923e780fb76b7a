"""Constituency routing: values matched per second against 100,000 constituency entries, by
the compiled matcher (`minga.events.matcher`) and by a naive scan of every entry.

    .venv/bin/python benchmarks/routing.py                 # 100k entries, 200k values
    .venv/bin/python benchmarks/routing.py --entries 20000 --values 50000

The entries are a national CSIRT's mix over 5,000 organisations: 60% IPv4 ranges (/16 to /32,
some nested in others), 10% IPv6 ranges, 25% domains, 5% AS numbers. The values are what
indicators carry, already normalised (as the observable index stores them): 60% IPv4
addresses, 20% domains (subdomains of declared ones and unknown ones), 10% URLs, 5% IPv6
addresses, 5% AS numbers; about one in four matches. The naive scan is timed on a sample (it
visits every entry for every value) and its answers are checked equal to the matcher's.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from minga.correlate import normalise
from minga.correlate.normalise import Value
from minga.events.matcher import Asset, Matcher, NaiveScan


def _dotted(n: int) -> str:
    return f"{n >> 24}.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"


def entries(count: int, rng: random.Random) -> list[Asset]:
    found: list[Asset] = []
    for n in range(count):
        org = rng.randrange(5000)
        pick = n % 20
        if pick < 12:
            length = rng.choice([16, 20, 22, 24, 24, 24, 28, 32])
            net = rng.randrange(2**32) & ~((1 << (32 - length)) - 1) & 0xFFFFFFFF
            found.append(Asset(org, "ip", f"{_dotted(net)}/{length}"))
        elif pick < 14:
            found.append(Asset(org, "ip", f"2001:db8:{rng.randrange(65536):x}::/48"))
        elif pick < 19:
            found.append(Asset(org, "domain", f"org{n}.{rng.choice(['cr', 'gt', 'br', 'com'])}"))
        else:
            found.append(Asset(org, "asn", str(64512 + n)))
    return found


def values(count: int, assets: list[Asset], rng: random.Random) -> list[Value]:
    domains = [a.value for a in assets if a.kind == "domain"]
    nets = [a.value for a in assets if a.kind == "ip" and "." in a.value]
    out: list[Value | None] = []
    for n in range(count):
        pick = n % 20
        if pick < 12:
            if rng.random() < 0.3:  # inside a declared network
                net = normalise.ip(rng.choice(nets))
                assert net is not None and net.lo and net.hi
                number = rng.randint(int(net.lo, 16), int(net.hi, 16))
            else:
                number = rng.randrange(2**32)
            out.append(normalise.ip(_dotted(number)))
        elif pick < 16:
            host = rng.choice(domains) if rng.random() < 0.3 else f"x{n}.example.net"
            out.append(normalise.domain(f"www{n % 7}.{host}"))
        elif pick < 18:
            out.append(normalise.url(f"https://{rng.choice(domains)}/login?n={n}"))
        elif pick < 19:
            out.append(normalise.ip(f"2001:db8:{rng.randrange(65536):x}::{n % 65536:x}"))
        else:
            out.append(Value("asn", str(64512 + rng.randrange(len(assets)))))
    return [v for v in out if v is not None]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--values", type=int, default=200_000)
    parser.add_argument("--naive-sample", type=int, default=50)
    args = parser.parse_args()
    print(f"Load average before the run: {os.getloadavg()[0]:.1f} ({os.cpu_count()} CPUs)")
    rng = random.Random(14)
    assets = entries(args.entries, rng)
    batch = values(args.values, assets, rng)

    started = time.perf_counter()
    matcher = Matcher(assets)
    built = time.perf_counter() - started
    started = time.perf_counter()
    found = matcher.match_many(batch)
    compiled = time.perf_counter() - started
    hits = sum(1 for f in found if f)

    sample = batch[: args.naive_sample]
    scan = NaiveScan(assets)
    started = time.perf_counter()
    naive = [scan.match(v) for v in sample]
    scanned = time.perf_counter() - started
    assert naive == found[: len(sample)], "the matcher and the naive scan disagree"

    fast = len(batch) / compiled
    slow = len(sample) / scanned
    print(f"Constituency entries: {len(assets):,} (compiled in {built:.2f} s)")
    print(f"Values matched: {len(batch):,} ({hits:,} match a constituent)")
    print(f"Compiled matcher: {fast:,.0f} values/s")
    print(f"Naive scan:       {slow:,.1f} values/s (sample of {len(sample)}, same answers)")
    print(f"Ratio: {fast / slow:,.0f}x")
    print(f"Load average after the run: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
