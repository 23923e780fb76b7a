"""Longer fuzz runs: `python -m tests.fuzz.run TARGET [--seconds 180] [--crashes DIR]`.

With atheris installed (the `dev` extra) this is coverage-guided libFuzzer over the `minga`
package; without it, hypothesis generates inputs for the same time. Unlike plain libFuzzer,
the run does not stop at the first crash: it records each distinct exception (type and the
line of `minga` it escaped from) with the first input that raised it under DIR, and prints the
count at the end. Exit status: 0 with no crash, 1 otherwise.
"""

from __future__ import annotations

import argparse
import atexit
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

    def report() -> None:  # libFuzzer ends the process with exit(): report from atexit
        recorder.report(name, time.monotonic() - started)
        if recorder.crashes:
            os._exit(1)

    atexit.register(report)
    argv = [sys.argv[0], f"-max_total_time={seconds}", "-rss_limit_mb=3072", str(corpus)]
    atheris.Setup(argv, recorder)
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
