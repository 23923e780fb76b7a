"""A short, bounded run of every fuzz target (hypothesis; the longer atheris runs are
`python -m tests.fuzz.run TARGET --seconds 180`, see README). Any exception but a MingaError
escaping a target, or a broken promise the target checks, fails the test."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from tests.fuzz.run import NAMES
from tests.fuzz.seeds import SEEDS
from tests.fuzz.strategies import inputs_for
from tests.fuzz.targets import TARGETS

# Examples per target: enough to meet each known crash again, few enough for seconds in total.
EXAMPLES = {"misp_import": 15, "report_reader": 40}


def test_the_runner_knows_every_target():
    assert sorted(NAMES) == sorted(TARGETS) == sorted(SEEDS)


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_seeds_pass(name: str):
    for seed in SEEDS[name]:
        TARGETS[name](seed)


CORPUS = Path(__file__).parent / "corpus"  # inputs that crashed a target once, by target


@pytest.mark.parametrize("path", sorted(CORPUS.glob("*/crash-*")), ids=lambda p: p.name)
def test_inputs_that_crashed_once_hold(path: Path):
    TARGETS[path.parent.name](path.read_bytes())


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_target_holds_on_generated_inputs(name: str):
    target = TARGETS[name]

    @settings(max_examples=EXAMPLES.get(name, 150), deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
    @given(inputs_for(name))
    def run(data: bytes) -> None:
        target(data)

    run()
