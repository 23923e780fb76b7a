"""`minga sensor scan FILE... [--indicators BUNDLE.json] [--model FILE] [--json]`: a one-off look
at log files (Zeek, Suricata eve.json, nfdump CSV, syslog/auth.log) against a STIX bundle of
indicators and the anomaly detectors; `minga sensor baseline` trains the flow model they use."""

from __future__ import annotations

import os
import sys
from collections import Counter
from typing import Annotated

import orjson
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from minga.sensor.indicators import BundleError, load_bundle
from minga.sensor.match import IndicatorIndex, Match
from minga.sensor.readers import Batch, ReadError, read_paths

sensor_app = typer.Typer(
    no_args_is_help=True,
    help="The sensor: match your own logs against shared indicators and find anomalies.",
)
ModelOption = Annotated[
    str | None,
    typer.Option(
        "--model",
        help="A flow model from `minga sensor baseline`: flows unlike its baseline are reported.",
    ),
]
ThresholdOption = Annotated[
    float,
    typer.Option(
        "--threshold",
        help="Flow score (0-1) from which a flow is an anomaly: 0.5 is as far from the baseline "
        "as its furthest kept flow, 0.6 (default) 25 % further, 0.75 twice as far.",
    ),
]
out = Console()
err = Console(stderr=True)
SHOWN_MATCHES = 200
SHOWN_MALFORMED = 5


def _record(batch: Batch, row: int) -> dict[str, object]:
    record = batch.table.slice(row, 1).to_pylist()[0]
    return {k: v for k, v in record.items() if v is not None}


def _emit_json(kind: str, payload: dict[str, object]) -> None:
    sys.stdout.buffer.write(orjson.dumps({"type": kind, **payload}) + b"\n")


@sensor_app.command("scan")
def scan_command(
    files: Annotated[
        list[str],
        typer.Argument(
            help="Log files or Zeek log directories; KIND:PATH forces the reader "
            "(zeek, eve, netflow, syslog)."
        ),
    ],
    indicators: Annotated[
        str | None,
        typer.Option("--indicators", help="A STIX 2.1 bundle (JSON) whose indicators to match."),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="JSON lines on stdout instead of tables.")
    ] = False,
    model: ModelOption = None,
    threshold: ThresholdOption = 0.6,
) -> None:
    """Read each file (the format is recognised from its first line), report its records and
    malformed lines (counted and skipped, never fatal), the records that match an indicator,
    with why, and the anomalies the detectors find (beaconing, DNS tunnelling, DGA names, SSH
    brute force, odd log sessions; with --model, flows unlike the baseline). Exit 0 when every
    file was read, 2 when one could not be."""
    from minga.sensor.anomaly.model import ModelError
    from minga.sensor.anomaly.report import detectors, emit_json, print_alerts

    try:
        detect = detectors(model, threshold)
    except ModelError as exc:
        err.print(f"[bold red]error:[/] {escape(str(exc))}")
        raise typer.Exit(2) from None
    index = None
    if indicators:
        try:
            index = IndicatorIndex(load_bundle(indicators))
        except BundleError as exc:
            err.print(f"[bold red]error:[/] {escape(str(exc))}")
            raise typer.Exit(2) from None
        _report_index(index, as_json)
    failed = False
    summary = Table("file", "log", "records", "malformed", "matches", title="Read")
    matches: list[tuple[Match, Batch]] = []
    read_batches: list[Batch] = []
    for spec in files:
        try:
            batches = list(read_paths(spec))
        except ReadError as exc:
            failed = True
            err.print(f"[bold red]error:[/] {escape(str(exc))}")
            continue
        read_batches.extend(batches)
        for batch in batches:
            found = list(index.match(batch)) if index is not None else []
            matches.extend((m, batch) for m in found)
            _report_batch(batch, found, as_json, summary)
    alerts = detect.detect(read_batches)
    if as_json:
        emit_json(alerts)
    else:
        if summary.row_count:
            out.print(summary)
        _print_matches(matches, index is not None)
        print_alerts(out, alerts, model is not None)
    raise typer.Exit(2 if failed else 0)


@sensor_app.command("baseline")
def baseline_command(
    inputs: Annotated[
        list[str],
        typer.Option(
            "--input",
            help="KIND:PATH (or PATH) of flow logs from a normal period: Zeek conn.log or its "
            "directory, eve.json flow events, nfdump CSV. Repeat for several.",
        ),
    ],
    model: Annotated[str, typer.Option("--model", help="Where to write the model (.npz).")],
    trim: Annotated[
        float,
        typer.Option(
            "--trim",
            help="Share of the baseline's most anomalous flows dropped before the final fit "
            "(contamination control: attacks inside the baseline must not become normal).",
        ),
    ] = 0.02,
) -> None:
    """Train the flow model on a baseline period; `scan`/`run --model FILE` then report the
    flows unlike it, naming the features that stand out."""
    from minga.sensor.anomaly import train_baseline
    from minga.sensor.anomaly.model import ModelError

    if not 0.0 <= trim < 0.5:
        err.print(f"[bold red]error:[/] --trim is a share below 0.5, not {trim}")
        raise typer.Exit(2)
    try:
        batches = [batch for spec in inputs for batch in read_paths(spec)]
        trained = train_baseline(batches, trim=trim)
        trained.save(model)
    except (ReadError, ModelError) as exc:
        err.print(f"[bold red]error:[/] {escape(str(exc))}")
        raise typer.Exit(2) from None
    except OSError as exc:
        err.print(f"[bold red]error:[/] cannot write {escape(model)}: {exc.strerror}")
        raise typer.Exit(2) from None
    meta = trained.meta
    out.print(
        f"Baseline of {meta['baseline_records']:,} flows ({meta['trimmed']:,} most anomalous "
        f"dropped) written to {escape(model)}."
    )


def _report_index(index: IndicatorIndex, as_json: bool) -> None:
    reasons = Counter(why for _, why in index.skipped + index.refused)
    if as_json:
        _emit_json("indicators", {"loaded": len(index), "skipped": dict(reasons)})
        return
    out.print(f"{len(index)} indicators loaded.")
    for why, count in reasons.most_common():
        err.print(f"[yellow]skipped {count} indicator(s):[/] {escape(why)}")


def _report_batch(batch: Batch, found: list[Match], as_json: bool, summary: Table) -> None:
    if as_json:
        for bad in batch.malformed:
            _emit_json("malformed", {"file": bad.path, "line": bad.line, "reason": bad.reason})
        for m in found:
            _emit_json("match", {**m.as_json(), "record": _record(batch, m.row)})
        _emit_json("read", {"file": batch.path, "log": batch.log, "records": batch.records,
                            "malformed": len(batch.malformed), "matches": len(found)})  # fmt: skip
        return
    summary.add_row(escape(batch.path), batch.log, f"{batch.records:,}",
                    f"{len(batch.malformed):,}", f"{len(found):,}")  # fmt: skip
    for bad in batch.malformed[:SHOWN_MALFORMED]:
        err.print(f"[yellow]malformed:[/] {escape(bad.path)}:{bad.line}: {escape(bad.reason)}")
    if len(batch.malformed) > SHOWN_MALFORMED:
        more = len(batch.malformed) - SHOWN_MALFORMED
        err.print(f"[yellow]malformed:[/] {more} more in {escape(batch.path)} (see --json)")


def _print_matches(matches: list[tuple[Match, Batch]], had_indicators: bool) -> None:
    if not had_indicators:
        out.print("No --indicators given: files read, nothing matched.")
        return
    if not matches:
        out.print("No record matches an indicator.")
        return
    table = Table("file:line", "log", "field", "value", "indicator", "why", title="Matches")
    for m, _ in matches[:SHOWN_MATCHES]:
        table.add_row(
            escape(f"{os.path.basename(m.path)}:{m.line}"), m.log, m.field, escape(m.value),
            escape(f"{m.name} ({m.indicator})" if m.name else m.indicator), escape(m.why),
        )  # fmt: skip
    out.print(table)
    if len(matches) > SHOWN_MATCHES:
        out.print(f"{len(matches) - SHOWN_MATCHES} more matches: use --json for all of them.")


@sensor_app.command("run")
def run_command(
    node: Annotated[str, typer.Option("--node", help="The node's base URL.")],
    token_env: Annotated[
        str, typer.Option("--token-env", help="Environment variable holding the API token.")
    ],
    inputs: Annotated[
        list[str],
        typer.Option(
            "--input",
            help="KIND:PATH, KIND one of zeek, eve, netflow, syslog; a Zeek "
            "directory follows its current logs (conn.log, dns.log, ...). Repeat for several.",
        ),
    ],
    follow: Annotated[
        bool, typer.Option("--follow", help="Keep matching what the logs append.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines on stdout.")] = False,
    interval: Annotated[float, typer.Option(help="Seconds between polls of the logs.")] = 1.0,
    refresh: Annotated[float, typer.Option(help="Seconds between indicator pulls.")] = 300.0,
    duration: Annotated[
        float | None, typer.Option("--for", help="With --follow: stop after so many seconds.")
    ] = None,
    model: ModelOption = None,
    threshold: ThresholdOption = 0.6,
) -> None:
    """Pull the indicators your organisation may see from the node (TAXII 2.1, with a token of
    one of its accounts, ideally a machine account) and match the inputs against them."""
    from minga.sensor.anomaly.model import ModelError
    from minga.sensor.anomaly.report import detectors, emit_json, print_alerts
    from minga.sensor.node import NodeIndicators
    from minga.sensor.run import Input, InputError, Sensor
    from minga.taxii.client import RemoteError

    try:
        detect = detectors(model, threshold)
    except ModelError as exc:
        err.print(f"[bold red]error:[/] {escape(str(exc))}")
        raise typer.Exit(2) from None

    token = os.environ.get(token_env)
    if not token:
        err.print(f"[bold red]error:[/] the environment variable {token_env} holds no token")
        raise typer.Exit(2)
    try:
        parsed = [Input.parse(spec) for spec in inputs]
    except InputError as exc:
        err.print(f"[bold red]error:[/] {escape(str(exc))}")
        raise typer.Exit(2) from None
    summary = Table("file", "log", "records", "malformed", "matches", title="Read")
    totals: dict[tuple[str, str], list[int]] = {}

    def on_batch(batch: Batch, found: list[Match]) -> None:
        alerts = detect.detect([batch])
        if as_json:
            _report_batch(batch, found, True, summary)
            emit_json(alerts)
            return
        if alerts:
            print_alerts(out, alerts, True)
        for bad in batch.malformed:
            err.print(f"[yellow]malformed:[/] {escape(bad.path)}:{bad.line}: {escape(bad.reason)}")
        for m in found:
            who = f"{m.name} ({m.indicator})" if m.name else m.indicator
            out.print(escape(f"{m.path}:{m.line} {m.log} {m.field}={m.value} → {who}: {m.why}"))
        count = totals.setdefault((batch.path, batch.log), [0, 0, 0])
        count[0] += batch.records
        count[1] += len(batch.malformed)
        count[2] += len(found)

    def on_warning(message: str) -> None:
        if as_json:
            _emit_json("warning", {"message": message})
        else:
            err.print(f"[yellow]warning:[/] {escape(message)}")

    sensor = Sensor(NodeIndicators(node, token), parsed, on_batch, on_warning)
    try:
        try:
            sensor.pull()
        except RemoteError as exc:
            err.print(f"[bold red]error:[/] cannot pull indicators from {escape(node)}: {exc}")
            raise typer.Exit(3) from None
        assert sensor.index is not None
        _report_index(sensor.index, as_json)
        sensor.run(follow, interval, refresh, duration)
    except KeyboardInterrupt:
        pass
    finally:
        sensor.close()
    if not as_json:
        for (path, log), (records, malformed, matched) in totals.items():
            summary.add_row(escape(path), log, f"{records:,}", f"{malformed:,}", f"{matched:,}")
        if summary.row_count:
            out.print(summary)
