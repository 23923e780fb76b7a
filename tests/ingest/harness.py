"""Stage harness: each stage test is input -> expected output, and every call is checked
against the stage's declared contract (IntelMQ's `lib/test.py` idea)."""

from __future__ import annotations

import copy
from typing import Any

from minga.ingest.csvfeed import CsvMapping
from minga.ingest.pipeline import Context, Options
from minga.policy import Principal, Reach, Role, Tlp

TS = "2024-03-01T12:00:00.000Z"
ORG_IDENTITY = "identity--00000000-0000-4000-8000-000000000001"
PRINCIPAL = Principal(user_id=1, org_id=1, role=Role.ANALYST, identity_ref=ORG_IDENTITY)


def context(
    session: Any = None,
    principal: Principal = PRINCIPAL,
    *,
    tlp: Tlp | None = None,
    reach: Reach = Reach.COMMUNITY,
    csv: CsvMapping | None = None,
) -> Context:
    options = Options(tlp=tlp, reach=reach, csv=csv or CsvMapping())
    return Context(session, principal, options, TS)


def run_stage(stage: Any, item: Any, ctx: Context | None = None) -> list[Any]:
    """Outputs of one stage call, after checking the stage kept its contract."""
    assert isinstance(item, stage.accepts), f"{stage.__name__} takes {stage.accepts.__name__}"
    before = copy.deepcopy(item)
    outputs = stage(item, ctx or context())
    assert isinstance(outputs, list), f"{stage.__name__} must return a list"
    for out in outputs:
        assert isinstance(out, stage.emits), f"{stage.__name__} emitted {type(out).__name__}"
    assert item == before, f"{stage.__name__} changed its input"
    return outputs
