"""Every pipeline chains stages whose declared inputs and outputs fit together."""

from __future__ import annotations

import itertools

from minga.ingest.pipeline import PIPELINES, Batch, Drafted, Stored, Upload, detect


def test_every_pipeline_chains_declared_types():
    assert detect.accepts is Upload and detect.emits is Upload
    ends = {}
    for name, stages in PIPELINES.items():
        assert stages[0].accepts is Upload, name
        for left, right in itertools.pairwise(stages):
            assert left.emits is right.accepts, f"{name}: {left.__name__} -> {right.__name__}"
        ends[name] = stages[-1].emits
    assert ends == {"stix": Stored, "misp": Stored, "csv": Stored, "report": Drafted}
    assert PIPELINES["stix"][1].accepts is Batch
