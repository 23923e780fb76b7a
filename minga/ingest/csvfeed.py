"""CSV indicator feeds: a column mapping turns rows into STIX indicators.

Fields a column maps to:
  value        any indicator; its kind comes from a `type` column or is recognised from the value
  ip, domain, url, hash, email   a column holding indicators of that kind (hash: MD5/SHA-1/256/512)
  type         the kind of `value` (ip, ip-dst, domain, hostname, url, md5, sha1, sha256, email...)
  first_seen   date or time (YYYY-MM-DD, ISO 8601, "YYYY-MM-DD HH:MM:SS" or Unix seconds)
  description  free text;  tlp  the row's TLP;  threat  a category kept as a label;
  country      ISO code kept as x_minga_country;  ignore  skip the column.
Without a mapping, header names are recognised (indicator/ioc -> value, date -> first_seen...);
a header-less file with one column is a list of values. Values may be defanged (hxxp, [.]).

Preset `csirtamericas` (per-country daily CSVs as CSIRTAmericas shares them), header:
  date,ip,domain,url,hash,type,country,description
`date` is first_seen, ip/domain/url/hash are indicator columns (each non-empty one makes an
indicator), `type` is the threat category (phishing, malware, botnet...), `country` ISO alpha-2.

With `--map`, the columns mapped explicitly win and the other header names are still
recognised (Spanish and Portuguese ones too: fecha/data, descripción/descrição, indicador...),
so a mapping never drops a description or date column the file names.

Re-importing the same rows stores nothing new: an indicator's id is a UUIDv5 over the importing
organisation, its pattern (type and normalised value) and, when the row has one, its first_seen
date, which is also its `created`; a row without a date keeps the `created` and `modified` of
the version already stored (`minga/ingest/csvstable.py`). Rows that cannot be read are reported
with their line numbers (`rejected`) and nothing of them is stored; other rows are.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from minga.errors import InvalidInput
from minga.extract import Ioc, IocType, ReportError, extract_iocs
from minga.extract.readers import decode_text
from minga.ingest import build
from minga.intel.service import parse_tlp
from minga.intel.stix import check_object, format_ts
from minga.policy import Tlp

FIELDS = frozenset(
    {"value", "ip", "domain", "url", "hash", "email", "type", "first_seen", "description",
     "tlp", "threat", "country", "ignore"}
)  # fmt: skip
VALUE_FIELDS = ("value", "ip", "domain", "url", "hash", "email")
ALLOWED = {
    "ip": {IocType.IPV4, IocType.IPV6, IocType.CIDR},
    "domain": {IocType.DOMAIN},
    "url": {IocType.URL},
    "hash": {IocType.MD5, IocType.SHA1, IocType.SHA256, IocType.SHA512},
    "email": {IocType.EMAIL},
}
HEADER_ALIASES = {
    "value": "value", "indicator": "value", "ioc": "value", "observable": "value",
    "ip": "ip", "ip_address": "ip", "ip-dst": "ip", "ip-src": "ip", "ipv4": "ip", "src_ip": "ip",
    "dst_ip": "ip", "domain": "domain", "hostname": "domain", "host": "domain", "fqdn": "domain",
    "url": "url", "uri": "url", "hash": "hash", "md5": "hash", "sha1": "hash", "sha256": "hash",
    "email": "email", "type": "type", "ioc_type": "type", "date": "first_seen",
    "first_seen": "first_seen", "firstseen": "first_seen", "timestamp": "first_seen",
    "description": "description", "comment": "description", "tlp": "tlp", "threat": "threat",
    "category": "threat", "country": "country",
    # Spanish and Portuguese headers, as CSIRTs of the region write them
    "indicador": "value", "valor": "value", "fecha": "first_seen", "data": "first_seen",
    "descripcion": "description", "descripción": "description", "descricao": "description",
    "descrição": "description", "comentario": "description", "comentário": "description",
    "tipo": "type", "amenaza": "threat", "ameaca": "threat", "ameaça": "threat",
    "categoria": "threat", "categoría": "threat", "pais": "country", "país": "country",
    "dominio": "domain", "domínio": "domain",
}  # fmt: skip
TYPE_NAMES = {
    "ip": None, "ip-dst": None, "ip-src": None, "ipv4": IocType.IPV4, "ipv6": IocType.IPV6,
    "ipv4-addr": IocType.IPV4, "ipv6-addr": IocType.IPV6, "cidr": IocType.CIDR,
    "domain": IocType.DOMAIN, "hostname": IocType.DOMAIN, "domain-name": IocType.DOMAIN,
    "url": IocType.URL, "uri": IocType.URL, "md5": IocType.MD5, "sha1": IocType.SHA1,
    "sha-1": IocType.SHA1, "sha256": IocType.SHA256, "sha-256": IocType.SHA256,
    "sha512": IocType.SHA512, "email": IocType.EMAIL, "email-src": IocType.EMAIL,
    "email-addr": IocType.EMAIL, "filename": IocType.FILE_NAME,
}  # fmt: skip
PRESETS: dict[str, dict[str, str]] = {
    "csirtamericas": {
        "date": "first_seen", "ip": "ip", "domain": "domain", "url": "url", "hash": "hash",
        "type": "threat", "country": "country", "description": "description",
    },
}  # fmt: skip
WHAT = {
    "value": "an indicator", "ip": "an IP address", "domain": "a domain name", "url": "a URL",
    "hash": "an MD5, SHA-1, SHA-256 or SHA-512 hash", "email": "an email address",
}  # fmt: skip
MAX_REJECTED = 1000  # reported back in full up to this many lines


@dataclass(frozen=True, slots=True)
class CsvMapping:
    """column (header name, or 1-based position) -> field."""

    columns: dict[str, str] = field(default_factory=dict)
    delimiter: str | None = None
    header: bool | None = None  # None: detect
    preset: str | None = None

    @classmethod
    def parse(cls, pairs: list[str], preset: str | None = None) -> CsvMapping:
        """From `--map col=field` pairs on top of an optional preset."""
        columns: dict[str, str] = {}
        if preset:
            if preset not in PRESETS:
                raise InvalidInput(f"unknown CSV preset {preset!r}: use {', '.join(PRESETS)}")
            columns.update(PRESETS[preset])
        for pair in pairs:
            col, sep, fld = pair.partition("=")
            if not sep or not col.strip() or fld.strip() not in FIELDS:
                raise InvalidInput(
                    f"bad column mapping {pair!r}: write column=field, field one of "
                    + ", ".join(sorted(FIELDS))
                )
            columns[col.strip().lower()] = fld.strip()
        return cls(columns, preset=preset)


@dataclass(slots=True)
class CsvResult:
    objects: list[dict[str, Any]]
    rows: int
    rejected: list[dict[str, Any]]
    undated: list[dict[str, Any]] = field(default_factory=list)  # rows without a first_seen


def _delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _timestamp(value: str) -> str:
    text = value.strip()
    try:
        if text.isdigit():
            dt = datetime.fromtimestamp(int(text), tz=UTC)
        else:
            dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
            dt = dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)
    except (ValueError, OverflowError, OSError):
        raise ValueError(f"first_seen {value[:60]!r} is not a date or time") from None
    return format_ts(dt)


def recognise(value: str, field_name: str, type_name: str | None = None) -> Ioc:
    """The one indicator a cell holds (refanged), or ValueError saying why not."""
    text = value.strip()
    found = [
        i for i in extract_iocs(text, include_benign=True) if i.start == 0 and i.end == len(text)
    ]
    if type_name:
        wanted = type_name.strip().lower()
        if wanted not in TYPE_NAMES:
            raise ValueError(f"unknown indicator type {type_name!r}")
        kind = TYPE_NAMES[wanted]
        allowed = ALLOWED["ip"] if kind is None else {kind}
        if kind is IocType.FILE_NAME and not found:
            return Ioc(IocType.FILE_NAME, text, text, 0, len(text), text)
    else:
        allowed = ALLOWED.get(field_name, set(IocType))
    for ioc in found:
        if ioc.type in allowed:
            return ioc
    what = f"a {type_name}" if type_name else WHAT[field_name]
    raise ValueError(f"{value[:100]!r} is not {what}")


def _resolve(mapping: CsvMapping, header: list[str] | None, width: int) -> dict[int, str]:
    """column position -> field."""
    names = [h.strip().lower() for h in header] if header else []
    if not mapping.columns:
        if header:
            return {i: HEADER_ALIASES[n] for i, n in enumerate(names) if n in HEADER_ALIASES}
        if width == 1:
            return {0: "value"}
        raise InvalidInput("the CSV has no header row: give a column mapping (--map 1=value ...)")
    explicit: dict[int, str] = {}
    for col, fld in mapping.columns.items():
        if col.isdigit():
            explicit[int(col) - 1] = fld
        elif col in names:
            explicit[names.index(col)] = fld
        elif header is None:
            raise InvalidInput(f"the CSV has no header row, so the column {col!r} is unknown")
    # Header names are recognised too, unless the mapping gives their field another column.
    taken = set(explicit.values())
    recognised = {
        i: HEADER_ALIASES[n]
        for i, n in enumerate(names)
        if n in HEADER_ALIASES and HEADER_ALIASES[n] not in taken
    }
    positions = {**recognised, **explicit}
    return positions


def parse_csv(
    data: bytes, mapping: CsvMapping, *, identity_ref: str, ts: str, default_tlp: Tlp | None
) -> CsvResult:
    try:
        text = decode_text(data)
    except ReportError as exc:
        raise InvalidInput(f"the CSV cannot be read: {exc.message}") from None
    text = text.lstrip("\ufeff")
    first = text.split("\n", 1)[0]
    reader = csv.reader(io.StringIO(text), delimiter=mapping.delimiter or _delimiter(first))
    rows: list[tuple[int, list[str]]] = []
    try:
        rows.extend((reader.line_num, row) for row in reader if any(c.strip() for c in row))
    except csv.Error as exc:
        raise InvalidInput(f"the CSV is malformed at line {reader.line_num}: {exc}") from None
    if not rows:
        raise InvalidInput("the CSV file has no rows")
    header = _header(rows[0][1], mapping)
    positions = _resolve(mapping, header, len(rows[0][1]))
    preset = PRESETS.get(mapping.preset or "")
    names = _names(rows[0][1])
    if preset and not any(preset.get(n) in VALUE_FIELDS for n in names):
        raise InvalidInput(
            f"the {mapping.preset} preset expects a header row with the columns"
            f" {','.join(preset)} (any order; at least one of the indicator columns"
            f" {', '.join(c for c, f in preset.items() if f in VALUE_FIELDS)});"
            f" this file has: {','.join(names)[:300]}"
        )
    if not any(f in VALUE_FIELDS for f in positions.values()):
        raise InvalidInput("no column is mapped to an indicator (value, ip, domain, url, hash)")
    body = rows[1:] if header else rows
    result = CsvResult([], len(body), [])
    for line, row in body:
        try:
            made, dated = _row_objects(row, positions, identity_ref, ts, default_tlp)
        except ValueError as exc:
            if len(result.rejected) < MAX_REJECTED:
                result.rejected.append({"line": line, "problem": str(exc)})
            continue
        result.objects.extend(made)
        if not dated:
            result.undated.extend(made)
    return result


def _names(header: list[str]) -> list[str]:
    return [c.strip().lower() for c in header]


def _header(first: list[str], mapping: CsvMapping) -> list[str] | None:
    if mapping.header is not None:
        return first if mapping.header else None
    known = set(mapping.columns) | set(HEADER_ALIASES)
    return first if set(_names(first)) & known else None


def _row_objects(
    row: list[str], positions: dict[int, str], identity_ref: str, ts: str, default_tlp: Tlp | None
) -> tuple[list[dict[str, Any]], bool]:
    """The row's indicators, and whether the row had a date of its own."""
    cells: dict[str, list[str]] = {}
    for pos, fld in positions.items():
        value = row[pos].strip() if pos < len(row) else ""
        if value and fld != "ignore":
            cells.setdefault(fld, []).append(value)
    one = {k: v[0] for k, v in cells.items()}
    first_seen = _timestamp(one["first_seen"]) if "first_seen" in one else None
    tlp = default_tlp
    if "tlp" in one:
        try:
            tlp = parse_tlp(one["tlp"])
        except InvalidInput as exc:
            raise ValueError(exc.message) from None
    iocs = [
        recognise(v, fld, one.get("type") if fld == "value" else None)
        for fld in VALUE_FIELDS
        for v in cells.get(fld, [])
    ]
    if not iocs:
        raise ValueError("the row has no indicator value")
    extra = {"x_minga_country": one["country"].upper()[:2]} if "country" in one else {}
    out = []
    for ioc in iocs:
        obj = build.objects_for(
            ioc,
            ts=first_seen or ts,
            tlp=tlp,
            description=one.get("description"),
            labels=[one["threat"].lower()[:100]] if "threat" in one else None,
            stable_key=f"{identity_ref}|{first_seen}" if first_seen else identity_ref,
            extra=extra,
        )
        if obj is None:
            continue
        problems = check_object(obj)  # one bad row is reported, it does not sink the file
        if problems:
            raise ValueError("; ".join(problems))
        out.append(obj)
    return out, first_seen is not None
