"""Longer fuzz runs: `python -m tests.fuzz.run TARGET [--seconds 180] [--crashes DIR]`.

With atheris installed (the `dev` extra) this is coverage-guided libFuzzer over the `minga`
package; without it, hypothesis generates inputs for the same time. Unlike plain libFuzzer,
the run does not stop at the first crash: it records each distinct exception (type and the
line of `minga` it escaped from) with the first input that raised it under DIR, and prints the
count at the end. Exit status: 0 with no crash, 1 otherwise.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

Target = Callable[[bytes], None]
# The names of tests.fuzz.targets.TARGETS, here so that choosing one imports nothing of minga
# (atheris must instrument minga's modules as they are first imported).
NAMES = ("csv_import", "extractor", "ingest_decode", "misp_import", "report_reader",
         "stix_check", "stix_upgrade", "taxii_params")  # fmt: skip


class Recorder:
    """Runs a target on one input; remembers each distinct crash instead of stopping."""

    def __init__(self, target: Target, out: Path) -> None:
        self.target, self.out = target, out
        self.crashes: dict[str, bytes] = {}
        self.runs = 0

    def __call__(self, data: bytes) -> None:
        self.runs += 1
        try:
            self.target(data)
        except Exception as exc:
            key = self._signature(exc)
            if key not in self.crashes:
                self.crashes[key] = data
                name = hashlib.sha1(data).hexdigest()[:12]
                (self.out / f"crash-{name}").write_bytes(data)
                print(f"\nCRASH {key}\n  input: {self.out / f'crash-{name}'}", flush=True)

    @staticmethod
    def _signature(exc: BaseException) -> str:
        frames = traceback.extract_tb(exc.__traceback__)
        ours = [f for f in frames if "/minga/" in f.filename] or frames
        where = f"{Path(ours[-1].filename).name}:{ours[-1].lineno}" if ours else "?"
        return f"{type(exc).__name__} at {where}"

    def report(self, name: str, seconds: float) -> None:
        print(
            f"\n{name}: {self.runs} inputs in {seconds:.0f} s, "
            f"{len(self.crashes)} distinct crashes",
            flush=True,
        )
        for key in self.crashes:
            print(f"  {key}")


JSON_TARGETS = ("stix_check", "ingest_decode", "stix_upgrade", "misp_import")
ODD = [
    None,
    True,
    0,
    -1,
    2**64,
    1.5,
    "",
    "x",
    [],
    {},
    "0000-01-01T00:00:00Z",
    "2024-02-30T00:00:00Z",
    "2024-01-01T00:00:00Z",
    "2.0",
    "2.1",
    "bundle",
    "indicator",
    "observed-data",
    "stix",
    "indicator--00000000-0000-0000-0000-000000000001",
    "indicator--6d8a7c1e-1d2b-4c3a-9e8f-0a1b2c3d4e5f",
    "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
]
KEYS = ["type", "id", "spec_version", "created", "modified", "valid_from", "pattern",
        "pattern_type", "created_by_ref", "object_marking_refs", "object_refs", "objects",
        "revoked", "labels", "name", "src_ref", "x_refs", "Tag", "Attribute", "Galaxy",
        "GalaxyCluster", "Event", "info", "uuid", "distribution", "response", "value"]  # fmt: skip


def json_mutator(data: bytes, max_size: int, seed: int) -> bytes:
    """Structure-aware mutation for JSON targets: change, drop, add or nest one node (byte
    mutation alone rarely keeps the JSON valid, so it would hardly reach the checks)."""
    import random

    import atheris  # type: ignore[import-not-found]
    import orjson

    rnd = random.Random(seed)
    try:
        root = orjson.loads(data)
    except orjson.JSONDecodeError:
        root = None
    if root is None or rnd.random() < 0.1:
        return bytes(atheris.Mutate(data, max_size))
    holders: list[dict | list] = []
    stack = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, dict | list):
            holders.append(node)
            stack.extend(node.values() if isinstance(node, dict) else node)
    if not holders:
        return bytes(atheris.Mutate(data, max_size))
    node = rnd.choice(holders)
    value = rnd.choice(ODD)
    if isinstance(value, dict | list):
        value = type(value)()
    if rnd.random() < 0.05:
        depth = rnd.choice([2, 50, 99, 100, 101, 254, 300])
        for _ in range(depth):
            value = [value]
    elif rnd.random() < 0.2:
        value = bytes(atheris.Mutate(str(rnd.choice(ODD)).encode(), 64)).decode("utf-8", "replace")
    if isinstance(node, dict):
        key = rnd.choice(KEYS) if rnd.random() < 0.7 or not node else rnd.choice(list(node))
        if node and rnd.random() < 0.15:
            node.pop(rnd.choice(list(node)))
        else:
            node[key] = value
    elif node and rnd.random() < 0.5:
        node[rnd.randrange(len(node))] = value
    else:
        node.append(value)
    try:
        out = orjson.dumps(root)
    except (TypeError, orjson.JSONEncodeError):  # deeper than orjson writes: keep the input
        return bytes(atheris.Mutate(data, max_size))
    return out[:max_size]


def _atheris(name: str, seconds: int, out: Path) -> int:
    import atheris  # type: ignore[import-not-found]

    with atheris.instrument_imports(include=["minga"]):
        from tests.fuzz.seeds import SEEDS
        from tests.fuzz.targets import TARGETS
    recorder = Recorder(TARGETS[name], out)
    corpus = Path(tempfile.mkdtemp(prefix=f"minga-fuzz-{name}-"))
    for i, seed in enumerate(SEEDS[name]):
        (corpus / f"seed-{i}").write_bytes(seed)
    started = time.monotonic()

    def one(data: bytes) -> None:
        # libFuzzer leaves with _exit() at its own time limit: end here, with the report.
        if time.monotonic() - started > seconds:
            recorder.report(name, time.monotonic() - started)
            sys.stdout.flush()
            os._exit(1 if recorder.crashes else 0)
        recorder(data)

    argv = [sys.argv[0], f"-max_total_time={seconds + 60}", "-rss_limit_mb=3072", str(corpus)]
    mutator = json_mutator if name in JSON_TARGETS else None
    atheris.Setup(argv, one, custom_mutator=mutator) if mutator else atheris.Setup(argv, one)
    atheris.Fuzz()
    return 0  # not reached


def _hypothesis(name: str, seconds: int, out: Path) -> int:
    from hypothesis import HealthCheck, given, settings

    from tests.fuzz.strategies import inputs_for
    from tests.fuzz.targets import TARGETS

    recorder = Recorder(TARGETS[name], out)
    started = time.monotonic()

    @settings(max_examples=10**9, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(inputs_for(name))
    def run(data: bytes) -> None:
        if time.monotonic() - started > seconds:
            raise TimeoutError
        recorder(data)

    with contextlib.suppress(TimeoutError):
        run()
    recorder.report(name, time.monotonic() - started)
    return 1 if recorder.crashes else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("target", choices=NAMES)
    parser.add_argument("--seconds", type=int, default=180)
    parser.add_argument("--crashes", type=Path, default=Path("fuzz-crashes"))
    parser.add_argument("--engine", choices=("auto", "atheris", "hypothesis"), default="auto")
    args = parser.parse_args()
    out = args.crashes / args.target
    out.mkdir(parents=True, exist_ok=True)
    engine = args.engine
    if engine == "auto":
        try:
            import atheris  # type: ignore[import-not-found]  # noqa: F401

            engine = "atheris"
        except ImportError:
            engine = "hypothesis"
    if engine == "atheris":
        return _atheris(args.target, args.seconds, out)
    return _hypothesis(args.target, args.seconds, out)


if __name__ == "__main__":
    sys.exit(main())
