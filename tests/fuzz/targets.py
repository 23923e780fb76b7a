"""Fuzz targets: one function per target, taking bytes. Each may only end normally or raise
`MingaError` (a clear, intended refusal); any other exception is a crash. Where the code
promises more, the target checks it: an object the STIX check passes can be versioned,
serialised and indexed; a CSV or extractor result is valid STIX; TAXII parameters are in range.

Run briefly in the suite (`tests/fuzz/test_fuzz.py`, hypothesis) and for longer with atheris:
`python -m tests.fuzz.run TARGET --seconds 180` (see README "Fuzzing").
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

import orjson

from minga.errors import MingaError
from minga.extract import ReportError, extract_iocs, ioc_to_stix_pattern, read_report
from minga.ingest import build, csvfeed, misp, pipeline, stixfile
from minga.intel.stix import check_object, search_text, tlp_of, ts_to_us, version_of
from minga.policy import Principal, Reach, Role
from minga.taxii.params import MAX_KEY, parse_params

PRINCIPAL = Principal(1, 1, Role.ANALYST, "identity--0b1c2d3e-4f50-4a61-8b72-93a4b5c6d7e8")
TS = "2024-05-02T12:00:00.000Z"


def _json(data: bytes) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return None


def _stored_shape(obj: dict[str, Any]) -> None:
    """What storing does with an object the check passed: none of it may fail."""
    version = version_of(obj)
    if version:
        ts_to_us(version)
    orjson.dumps(obj)
    search_text(obj)
    tlp_of(obj)


def stix_check(data: bytes) -> None:
    """`check_object` returns sentences for any JSON; what it passes can be stored."""
    decoded = _json(data)
    for obj in decoded if isinstance(decoded, list) else [decoded]:
        problems = check_object(obj)
        assert isinstance(problems, list) and all(isinstance(p, str) for p in problems)
        if not problems:
            _stored_shape(obj)


def _ctx() -> pipeline.Context:
    return pipeline.Context(None, PRINCIPAL, pipeline.Options(), TS)  # type: ignore[arg-type]


def ingest_decode(data: bytes) -> None:
    """Detect, parse (STIX 2.0/2.1, MISP) and normalise an uploaded file, without storing."""
    try:
        ctx = _ctx()
        (item,) = pipeline.detect(pipeline.Upload(data, "upload.json"), ctx)
        if item.format == "stix":
            batches = pipeline.parse_stix(item, ctx)
        elif item.format == "misp":
            misp.events_of(item.decoded)  # conversion itself: `misp_import`
            return
        else:
            return  # CSV and reports: their own targets
        for batch in batches:
            for out in pipeline.normalise(batch, ctx):
                for obj in out.objects:
                    assert not check_object(obj)
                    _stored_shape(obj)
    except MingaError:
        pass


def stix_upgrade(data: bytes) -> None:
    """`read_stix` (the STIX 2.0 upgrade) on any file."""
    try:
        for obj in stixfile.read_stix(data):
            check_object(obj)
    except MingaError:
        pass


def csv_import(data: bytes) -> None:
    """A CSV feed with the header recognised (and with the csirtamericas preset)."""
    for mapping in (csvfeed.CsvMapping(), csvfeed.CsvMapping.parse([], "csirtamericas")):
        try:
            result = csvfeed.parse_csv(
                data, mapping, identity_ref=PRINCIPAL.identity_ref, ts=TS, default_tlp=None
            )
        except MingaError:
            continue
        for obj in result.objects:
            assert not check_object(obj), obj
        assert all(isinstance(r["line"], int) for r in result.rejected)


def misp_import(data: bytes) -> None:
    """MISP events to STIX through misp-stix (refusals are InvalidInput)."""
    decoded = _json(data)
    if decoded is None:
        return
    try:
        for event in misp.events_of(decoded)[:3]:
            misp.event_tlp(event)
            misp.event_reach(event, Reach.COMMUNITY)
            for obj in misp.convert_event(event).objects:
                check_object(obj)
    except MingaError:
        pass


def taxii_params(data: bytes) -> None:
    """A query string (any bytes) through the TAXII parameter parser."""
    query = data.decode("utf-8", "replace")
    args = parse_qs(query, keep_blank_values=True)
    try:
        params = parse_params(args, default_limit=100, max_limit=1000)
    except MingaError:
        return
    assert 1 <= params.limit <= 1000
    assert params.added_after_us is None or -(2**63) <= params.added_after_us <= MAX_KEY


def extractor(data: bytes) -> None:
    """IOC extraction over any text: every indicator it finds becomes valid STIX."""
    text = data.decode("utf-8", "replace")
    for ioc in extract_iocs(text, include_benign=True):
        assert 0 <= ioc.start <= ioc.end <= len(text)
        if ioc_to_stix_pattern(ioc) is not None:
            obj = build.objects_for(ioc, ts=TS)
            assert obj is not None and not check_object(obj), obj


def report_reader(data: bytes) -> None:
    """HTML, PDF and text report reading (ReportError is the intended refusal)."""
    for name in ("r.html", "r.pdf", "r.txt"):
        with contextlib.suppress(ReportError):
            read_report(data, name, max_seconds=2.0)


TARGETS: dict[str, Callable[[bytes], None]] = {
    "stix_check": stix_check,
    "ingest_decode": ingest_decode,
    "stix_upgrade": stix_upgrade,
    "csv_import": csv_import,
    "misp_import": misp_import,
    "taxii_params": taxii_params,
    "extractor": extractor,
    "report_reader": report_reader,
}
