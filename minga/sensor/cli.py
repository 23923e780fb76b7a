"""`minga sensor scan FILE... [--indicators BUNDLE.json] [--model FILE] [--json]`: a one-off look
at log files (Zeek, Suricata eve.json, nfdump CSV, syslog/auth.log) against a STIX bundle of
indicators and the anomaly detectors; `minga sensor baseline` trains the flow model they use."""

from __future__ import annotations

import os
import sqlite3
import sys
from collections import Counter
from typing import TYPE_CHECKING, Annotated

import orjson
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:
    from minga.sensor.report import Sent
    from minga.sensor.run import Sensor

from minga.policy import Tlp
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
    report: Annotated[
        bool | None,
        typer.Option(
            "--report/--no-report",
            help="Send matches to the node as STIX sightings (per indicator per hour) and "
            "--alerts as alerts. Default: report when --state is given.",
        ),
    ] = None,
    state: Annotated[
        str | None,
        typer.Option(
            "--state",
            help="Directory of the sensor's state: the queue of sightings and alerts the node "
            "has not taken yet (sent when it is back: nothing lost, nothing twice) and how far "
            "each log was read (a restart goes on from there).",
        ),
    ] = None,
    tlp: Annotated[
        str,
        typer.Option(
            "--tlp",
            help="TLP of your sightings: clear, green, amber, amber+strict or red. A sighting "
            "takes the stricter of this and the sighted indicator's TLP.",
        ),
    ] = "amber",
    retry: Annotated[
        float,
        typer.Option(
            "--retry",
            help="While the node cannot take reports: wait 1 s, then twice as long each "
            "time, up to this many seconds between tries.",
            min=0.1,
        ),
    ] = 30.0,
    alert_files: Annotated[
        list[str] | None,
        typer.Option(
            "--alerts",
            help="A file of alerts (JSON lines, minga.sensor.alerts.Alert) to send to the "
            "node as they are appended. Repeat for several.",
        ),
    ] = None,
    model: ModelOption = None,
    threshold: ThresholdOption = 0.6,
) -> None:
    """Pull the indicators your organisation may see from the node (TAXII 2.1, with a token of
    one of its accounts, ideally a machine account) and match the inputs against them. With
    --state DIR, matches are reported to the node as sightings, and the anomaly detectors'
    alerts (and --alerts files) as alerts for an analyst to review."""
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
        if sensor.reporter is not None:  # sent to the node for review (--state)
            for alert in alerts:
                sensor.reporter.alert(alert)
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

    level = _reporting_tlp(tlp, report, state, alert_files or [])
    sensor = Sensor(NodeIndicators(node, token), parsed, on_batch, on_warning)
    try:
        try:
            sensor.pull()
        except RemoteError as exc:
            err.print(f"[bold red]error:[/] cannot pull indicators from {escape(node)}: {exc}")
            raise typer.Exit(3) from None
        assert sensor.index is not None
        _report_index(sensor.index, as_json)
        if state is not None:
            _start_reporting(
                sensor, node, token, state, level, report, alert_files or [], as_json, retry
            )
        sensor.run(follow, interval, refresh, duration)
    except KeyboardInterrupt:
        pass
    finally:
        waiting = sensor.reporter.outbox.pending() if sensor.reporter else None
        sensor.close()
    if waiting is not None and (waiting.sightings or waiting.alerts):
        on_warning(
            f"{waiting.sightings} sighting(s) and {waiting.alerts} alert(s) wait in {state} "
            "until the node takes them (the next run sends them)"
        )
    if not as_json:
        for (path, log), (records, malformed, matched) in totals.items():
            summary.add_row(escape(path), log, f"{records:,}", f"{malformed:,}", f"{matched:,}")
        if summary.row_count:
            out.print(summary)


def _reporting_tlp(tlp: str, report: bool | None, state: str | None, alerts: list[str]) -> Tlp:
    try:
        level = Tlp(tlp.strip().lower())
    except ValueError:
        err.print(f"[bold red]error:[/] --tlp {escape(tlp)!r}: use clear, green, amber, "
                  "amber+strict or red")  # fmt: skip
        raise typer.Exit(2) from None
    if report and state is None:
        err.print("[bold red]error:[/] --report needs --state DIR: where sightings and alerts "
                  "wait while the node cannot take them")  # fmt: skip
        raise typer.Exit(2)
    if alerts and (state is None or report is False):
        err.print("[bold red]error:[/] --alerts are sent to the node: give --state DIR "
                  "(and not --no-report)")  # fmt: skip
        raise typer.Exit(2)
    return level


def _start_reporting(
    sensor: Sensor, node: str, token: str, state: str, level: Tlp, report: bool | None,
    alert_files: list[str], as_json: bool, retry: float,
) -> None:  # fmt: skip
    from minga.sensor.outbox import Outbox
    from minga.sensor.report import NodeUnavailable, Reporter
    from minga.sensor.run import AlertFile

    try:
        outbox = Outbox(state)
    except (OSError, sqlite3.Error) as exc:
        err.print(f"[bold red]error:[/] --state {escape(state)}: {escape(str(exc))}")
        raise typer.Exit(2) from None
    reporter = Reporter(
        outbox, node, token, level, indicator_tlp=sensor.node.tlp, max_backoff=retry
    )
    try:
        reporter.start()
    except (NodeUnavailable, ValueError) as exc:
        reporter.close()
        outbox.close()
        err.print(f"[bold red]error:[/] {escape(str(exc))}")
        raise typer.Exit(3 if isinstance(exc, NodeUnavailable) else 2) from None
    reporter.reporting = report is not False  # --no-report --state: positions kept only
    sensor.reporter = reporter
    sensor.alert_files = [AlertFile(path) for path in alert_files]

    def on_sent(sent: Sent) -> None:
        if as_json:
            _emit_json("reported", {"sightings": sent.sightings, "alerts": sent.alerts,
                                    "refused": sent.refused})  # fmt: skip
            return
        out.print(f"reported {sent.sightings} sighting(s), {sent.alerts} alert(s) to the node")
        for why in sent.refused:
            err.print(f"[yellow]refused by the node:[/] {escape(why)}")

    sensor.on_sent = on_sent
