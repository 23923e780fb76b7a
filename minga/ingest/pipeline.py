"""The ingestion pipeline: small stages `(item, ctx) -> outputs`, chained per input format.

detect -> parse (stix | misp | csv) -> normalise+validate -> store
detect -> read report -> find indicators -> store draft

A stage never commits and never retries: the runner (`minga.ingest.jobs`) owns the transaction,
retries and the dead letter, so the same stages can run in-process or in workers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import PurePath
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from minga.correlate.duplicates import told
from minga.errors import InvalidInput
from minga.ingest import csvfeed, drafts, misp, stixfile
from minga.ingest.csvstable import keep_stored_times
from minga.intel import quirks
from minga.intel.service import Provenance, create_objects
from minga.intel.stix import SCO_TYPES, TLP2_MARKING_ID, TLP_MARKINGS, check_object, tlp_of
from minga.intel.tolerant import store_tolerant
from minga.policy import TLP_RANK, Principal, Reach, Tlp

FORMATS = ("auto", "stix", "misp", "misp-feed", "csv", "report")
MAX_LISTED = 1000  # refused objects listed in a job result (all are counted)
REPORT_SUFFIXES = (".pdf", ".html", ".htm", ".xhtml", ".md", ".markdown", ".txt", ".text")


@dataclass(frozen=True, slots=True)
class Options:
    tlp: Tlp | None = None  # for objects without a TLP marking; None means AMBER
    reach: Reach = Reach.COMMUNITY
    group_ids: tuple[int, ...] = ()
    csv: csvfeed.CsvMapping = field(default_factory=csvfeed.CsvMapping)
    # All or nothing (True); False stores every object that can be stored and reports the rest.
    strict: bool = True


@dataclass(frozen=True, slots=True)
class Upload:
    data: bytes
    source: str  # file name or URL
    content_type: str | None = None
    format: str = "auto"
    decoded: Any = None  # JSON already decoded by `detect`


@dataclass(frozen=True, slots=True)
class Batch:
    """STIX objects stored together, all or nothing."""

    objects: list[dict[str, Any]]
    label: str
    third_party: bool  # keep the creator the source named
    tlp: Tlp | None = None  # default marking for this batch's unmarked objects
    reach: Reach | None = None  # narrower reach than asked (MISP distribution)
    undated: frozenset[str] = frozenset()  # CSV indicators whose row had no date


@dataclass(frozen=True, slots=True)
class Stored:
    label: str
    created: int
    existing: int


@dataclass(frozen=True, slots=True)
class Drafted:
    draft_id: int
    items: int
    limits: tuple[str, ...] = ()  # what was not read (report.Limit messages)


@dataclass(slots=True)
class Context:
    session: Session
    principal: Principal
    options: Options
    ts: str  # one clock reading for the whole job
    notes: dict[str, Any] = field(default_factory=dict)  # e.g. rejected CSV lines
    on_batch: Callable[[Stored], None] | None = None


T = TypeVar("T")


def stage(accepts: type, emits: type) -> Callable[[T], T]:
    """Declare what a stage takes and gives; the test harness checks every stage against it."""

    def mark(fn: T) -> T:
        fn.accepts, fn.emits = accepts, emits  # type: ignore[attr-defined]
        return fn

    return mark


def _json(item: Upload) -> Any:
    return item.decoded if item.decoded is not None else stixfile.decode_json(item.data, "file")


@stage(Upload, Upload)
def detect(item: Upload, ctx: Context) -> list[Upload]:
    """Decide the format from the name, content type and first bytes."""
    if item.format not in FORMATS:
        raise InvalidInput(f"unknown format {item.format!r}: use {', '.join(FORMATS)}")
    if item.format == "misp-feed":
        raise InvalidInput("a MISP feed is a directory or URL holding manifest.json, not one file")
    if item.format != "auto":
        return [item]
    name = PurePath(item.source.split("?", 1)[0]).name.lower()
    ctype = (item.content_type or "").split(";", 1)[0].strip().lower()
    head = item.data[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
    if name.endswith((".csv", ".tsv")) or ctype == "text/csv":
        return [replace(item, format="csv")]
    if name.endswith(REPORT_SUFFIXES) or head.startswith(b"%PDF") or ctype.startswith("text/"):
        return [replace(item, format="report")]
    if name.endswith(".json") or ctype == "application/json" or head[:1] in (b"{", b"["):
        decoded = stixfile.decode_json(item.data, "file")
        kind = "misp" if misp.is_misp(decoded) else "stix"
        return [replace(item, format=kind, decoded=decoded)]
    return [replace(item, format="report")]


@stage(Upload, Batch)
def parse_stix(item: Upload, ctx: Context) -> list[Batch]:
    objs = stixfile.read_stix(item.data) if item.decoded is None else _stix_of(item.decoded)
    return [Batch(objs, item.source, third_party=True)]


def _stix_of(decoded: Any) -> list[dict[str, Any]]:
    items, version = stixfile.objects_of(decoded)
    out: list[dict[str, Any]] = []
    for obj in items:
        is_old = isinstance(obj, dict) and stixfile.is_stix20(obj, version)
        out.extend(stixfile.upgrade_object(obj) if is_old else [obj])
    return out


@stage(Upload, Batch)
def parse_misp(item: Upload, ctx: Context) -> list[Batch]:
    batches = []
    for event in misp.events_of(_json(item)):
        label = f"{item.source}: {str(event.get('info', ''))[:80]}"
        converted = misp.convert_event(event)
        if converted.skipped:  # attributes misp-stix left out: the analyst must know
            skipped = ctx.notes.setdefault("skipped", [])
            skipped.extend({"event": label, "problem": p} for p in converted.skipped)
        batches.append(
            Batch(
                converted.objects,
                label,
                third_party=True,
                tlp=misp.event_tlp(event),
                reach=misp.event_reach(event, ctx.options.reach),
            )
        )
    return batches


@stage(Upload, Batch)
def parse_csv(item: Upload, ctx: Context) -> list[Batch]:
    result = csvfeed.parse_csv(
        item.data,
        ctx.options.csv,
        identity_ref=ctx.principal.identity_ref,
        ts=ctx.ts,
        default_tlp=ctx.options.tlp,
    )
    ctx.notes["rows"] = result.rows
    ctx.notes["rejected"] = result.rejected
    if not result.objects:
        raise InvalidInput(
            f"none of the {result.rows} CSV rows holds a usable indicator", details=result.rejected
        )
    undated = frozenset(o["id"] for o in result.undated)
    return [Batch(result.objects, item.source, third_party=False, undated=undated)]


def _default_tlp(batch: Batch, options: Options) -> Tlp:
    levels = [t for t in (batch.tlp, options.tlp) if t is not None]
    return max(levels, key=TLP_RANK.__getitem__) if levels else Tlp.AMBER


@stage(Batch, Batch)
def normalise(batch: Batch, ctx: Context) -> list[Batch]:
    """Drop standard TLP definitions, repair known harmless quirks, check every object and
    mark the unmarked ones.

    With `strict` options one invalid object refuses the batch; otherwise the invalid ones are
    left out and listed in the job's notes (`refused`), unless none is left to store.
    An unmarked object gets the batch's default TLP; an unmarked observable gets the most
    restrictive TLP of the objects referring to it (MISP puts an attribute's TLP on the
    observed-data, not on the address inside it), so no value leaks below its source's TLP.
    """
    default = _default_tlp(batch, ctx.options)
    kept: list[dict[str, Any]] = []
    problems: list[dict[str, Any]] = []
    repaired: list[dict[str, Any]] = []
    for index, original in enumerate(batch.objects):
        if isinstance(original, dict) and _id_of(original) in TLP_MARKINGS:
            continue
        obj, fixes = quirks.repair(original)
        if fixes:
            repaired.append({"index": index, "id": _id_of(obj), "notes": fixes})
        found = check_object(obj)
        if found:
            problems.append({"index": index, "id": _id_of(obj), "problems": found})
        else:
            kept.append(obj)
    if problems and (ctx.options.strict or not kept):
        raise InvalidInput(
            f"{len(problems)} of {len(batch.objects)} objects in {batch.label} are invalid",
            details=problems[:MAX_LISTED],
        )
    if repaired:
        _note(ctx, "repaired", batch.label, repaired)
    if problems:
        _note(ctx, "refused", batch.label, problems)
    levels = _levels(kept, default)
    out = [
        obj
        if obj["type"] == "marking-definition" or tlp_of(obj) is not None
        else {**obj, "object_marking_refs": [*obj.get("object_marking_refs", []),
                                             TLP2_MARKING_ID[levels[obj["id"]]]]}
        for obj in kept
    ]  # fmt: skip
    return [replace(batch, objects=out)]


def _note(ctx: Context, key: str, label: str, items: list[dict[str, Any]]) -> None:
    """Count every item under `{key}_count` and list the first MAX_LISTED under `key`."""
    listed: list[dict[str, Any]] = ctx.notes.setdefault(key, [])
    listed.extend({**item, "source": label} for item in items[: MAX_LISTED - len(listed)])
    ctx.notes[f"{key}_count"] = ctx.notes.get(f"{key}_count", 0) + len(items)


def _refs(obj: dict[str, Any]) -> list[str]:
    found: list[str] = []
    for key, value in obj.items():
        if key.endswith("_ref") and isinstance(value, str):
            found.append(value)
        elif key.endswith("_refs") and key != "object_marking_refs" and isinstance(value, list):
            found.extend(v for v in value if isinstance(v, str))
    return found


def _levels(objs: list[dict[str, Any]], default: Tlp) -> dict[str, Tlp]:
    """The TLP each object ends up with (its own marking, else as described in `normalise`)."""
    level = {o["id"]: tlp_of(o) or default for o in objs}
    open_scos = {o["id"] for o in objs if o["type"] in SCO_TYPES and tlp_of(o) is None}
    edges = [(o["id"], ref) for o in objs for ref in _refs(o) if ref in open_scos]
    for _ in range(len(edges) + 1):  # a fixpoint: each pass settles at least one more edge
        changed = False
        for src, dst in edges:
            if TLP_RANK[level[src]] > TLP_RANK[level[dst]]:
                level[dst] = level[src]
                changed = True
        if not changed:
            break
    return level


def _id_of(obj: Any) -> str | None:
    return obj.get("id") if isinstance(obj, dict) and isinstance(obj.get("id"), str) else None


@stage(Batch, Stored)
def store(batch: Batch, ctx: Context) -> list[Stored]:
    """Store the batch: all or nothing with `strict` options, else every object that can be
    (the others, with their reason, go to the `refused` notes)."""
    if not batch.objects:
        return [Stored(batch.label, 0, 0)]
    if batch.undated:  # so that importing the same file again stores nothing new
        undated = [o for o in batch.objects if o.get("id") in batch.undated]
        keep_stored_times(ctx.session, ctx.principal.org_id, undated)
    options: dict[str, Any] = {
        "reach": batch.reach or ctx.options.reach,
        "group_ids": ctx.options.group_ids,
        "provenance": Provenance(source=batch.label[:200]),
        "enforce_creator": not batch.third_party,
        # What the organisation publishes itself (CSV rows): a value it published before
        # links to its indicator instead of making another (`minga.correlate.duplicates`).
        "link_known": not batch.third_party,
    }
    if ctx.options.strict:
        result = create_objects(ctx.session, ctx.principal, batch.objects, **options)
    else:
        result, failures = store_tolerant(ctx.session, ctx.principal, batch.objects, **options)
        if failures:
            refused = [
                {"id": _id_of(batch.objects[i]), "problems": [reason]}
                for i, reason in sorted(failures.items())
            ]
            _note(ctx, "refused", batch.label, refused)
    created = set(result.created)
    # A source may revoke its own objects; say so rather than let it happen silently.
    revoked = [
        o["id"] for o in batch.objects
        if o.get("revoked") is True and (o["id"], str(o.get("modified", ""))) in created
    ]  # fmt: skip
    if revoked:
        _note(ctx, "revoked_by_source", batch.label, [{"id": i} for i in revoked])
    if not batch.third_party:
        for key, found in told(ctx.session, ctx.principal, batch.objects, result.linked).items():
            if found:
                _note(ctx, key, batch.label, found)
        # The very same indicator again (a re-import whose rows give the same ids): as known.
        again = [
            {"sent": sid, "id": sid, "version": version, "new_version": False, "values": []}
            for sid, version in result.existing
            if sid.startswith("indicator--")
        ]
        if again:
            _note(ctx, "already_known", batch.label, again)
    done = Stored(batch.label, len(result.created), len(result.existing))
    if ctx.on_batch is not None:
        ctx.on_batch(done)
    return [done]


@stage(Upload, Drafted)
def draft_report(item: Upload, ctx: Context) -> list[Drafted]:
    """Read the report, find its indicators and keep them as a draft for review."""
    name = PurePath(item.source.split("?", 1)[0]).name or None
    draft = drafts.create_report_draft(
        ctx.session, ctx.principal, item.data, name, item.content_type
    )
    return [Drafted(draft.id, len(draft.items), tuple(lim.message for lim in draft.limits))]


PIPELINES: dict[str, list[Callable[[Any, Context], list[Any]]]] = {
    "stix": [parse_stix, normalise, store],
    "misp": [parse_misp, normalise, store],
    "csv": [parse_csv, normalise, store],
    "report": [draft_report],
}


def run_pipeline(item: Upload, ctx: Context) -> list[Any]:
    """Every output of the last stage for one upload (raises the first stage error)."""
    (detected,) = detect(item, ctx)
    ctx.notes["format"] = detected.format
    items: list[Any] = [detected]
    for step in PIPELINES[detected.format]:
        items = [out for each in items for out in step(each, ctx)]
    return items
