"""Alerts for a person (a Rich table) or a pipeline (JSON lines), and the `--model` option's
loading, shared by `minga sensor scan` and `minga sensor run`."""

from __future__ import annotations

import sys

import orjson
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from minga.sensor.alerts import Alert
from minga.sensor.anomaly import Detectors
from minga.sensor.anomaly.model import FlowModel

SHOWN_ALERTS = 100


def detectors(model_path: str | None, threshold: float) -> Detectors:
    """The detectors, with the flow model of `model_path` when given (raises ModelError)."""
    if not 0.0 < threshold <= 1.0:
        from minga.sensor.anomaly.model import ModelError

        raise ModelError(f"--threshold is a score between 0 and 1, not {threshold}")
    model = FlowModel.load(model_path) if model_path else None
    return Detectors(model=model, threshold=threshold)


def emit_json(alerts: list[Alert]) -> None:
    for alert in alerts:
        sys.stdout.buffer.write(orjson.dumps({"type": "alert", **alert.as_json()}) + b"\n")


def print_alerts(out: Console, alerts: list[Alert], had_model: bool) -> None:
    if not had_model:
        out.print(
            "No --model given: flows were not scored against a baseline "
            "(train one with `minga sensor baseline`)."
        )
    if not alerts:
        out.print("No anomaly found.")
        return
    table = Table(title="Anomalies")
    for name in ("detector", "score", "source", "destination", "count"):
        table.add_column(name, no_wrap=name in ("detector", "score", "count"))
    table.add_column("why", ratio=1, min_width=40)
    for alert in alerts[:SHOWN_ALERTS]:
        table.add_row(
            alert.detector,
            f"{alert.score:.2f}",
            escape(alert.source or ""),
            escape(alert.destination or ""),
            f"{alert.count:,}",
            escape(alert.reason),
        )
    out.print(table)
    if len(alerts) > SHOWN_ALERTS:
        out.print(f"{len(alerts) - SHOWN_ALERTS} more anomalies: use --json for all of them.")
