"""Warninglists: known-benign values (public resolvers, CDNs, the empty file's hash...) that flag
stored indicators in look-ups, correlations and on the object page.

Two sources, one answer: the lists the extractor ships (`minga.extract.warninglists`, named
"Minga benign values" here) and lists imported in MISP's warninglist JSON format
(https://github.com/MISP/misp-warninglists: `name`, `version`, `description`, `type`,
`matching_attributes`, `list`). MISP's list types: `string` (equal value), `hostname` (the
domain or a subdomain of it; for URLs and mailboxes their host), `cidr` (the address inside a
listed network), `substring` and `regex` (anywhere in the value). Entries are normalised as the
observable index normalises, so `8.8.8.8/32`, `WWW.Example.com.` and `example.com` match.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from minga import audit
from minga.correlate import normalise as n
from minga.correlate.models import warninglist_entries, warninglists
from minga.correlate.normalise import Value
from minga.errors import Forbidden, InvalidInput, NotFound
from minga.extract import IocType
from minga.extract.warninglists import is_benign
from minga.policy import Action, Principal, may

BUILT_IN = "Minga benign values"
LIST_TYPES = ("string", "substring", "hostname", "cidr", "regex")
MAX_ENTRIES = 2_000_000
CHUNK = 500
_IOC_TYPES = {
    "ipv4": IocType.IPV4, "ipv6": IocType.IPV6, "ipv4-net": IocType.CIDR,
    "ipv6-net": IocType.CIDR, "domain": IocType.DOMAIN, "url": IocType.URL,
    "email": IocType.EMAIL, "md5": IocType.MD5, "sha1": IocType.SHA1,
    "sha256": IocType.SHA256, "sha512": IocType.SHA512, "filename": IocType.FILE_NAME,
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Warninglist:
    id: int
    name: str
    description: str
    version: int
    list_type: str
    matching: list[str]
    enabled: bool
    entries: int
    imported_at: datetime


def _allowed(principal: Principal | None) -> None:
    if principal is not None and not may(principal, Action.MANAGE_CORRELATION):
        raise Forbidden("only the node operator manages warninglists")


def _entry(list_type: str, text: str) -> str | None:
    """An entry as the index would store the value it matches (None: unusable)."""
    text = text.strip()
    if not text:
        return None
    if list_type == "cidr":
        found = n.ip(text)
        return found.value if found else None
    if list_type == "hostname":
        return n.domain_name(text.lstrip("*").lstrip("."))
    if list_type == "string":
        found = n.guess(text)
        return found.value if found is not None else text.lower()
    if list_type == "substring":
        return text.lower()
    try:
        re.compile(text)
    except re.error:
        return None
    return text


def parse(data: bytes) -> dict[str, Any]:
    """A MISP warninglist document, checked; InvalidInput says what is wrong."""
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"not a JSON document: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("list"), list):
        raise InvalidInput("not a MISP warninglist: it needs a 'name' and a 'list' of values")
    name = doc.get("name")
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput("not a MISP warninglist: it needs a 'name'")
    list_type = doc.get("type", "string")
    if list_type not in LIST_TYPES:
        raise InvalidInput(f"unknown warninglist type {list_type!r}: use {', '.join(LIST_TYPES)}")
    if len(doc["list"]) > MAX_ENTRIES:
        raise InvalidInput(f"a warninglist may hold at most {MAX_ENTRIES} entries")
    return doc


def import_list(session: Session, principal: Principal | None, data: bytes) -> Warninglist:
    """Store a MISP warninglist; a list of the same name is replaced (a newer release)."""
    _allowed(principal)
    doc = parse(data)
    list_type = doc.get("type", "string")
    values = sorted(
        {e for raw in doc["list"] if isinstance(raw, str) and (e := _entry(list_type, raw))}
    )
    if not values:
        raise InvalidInput("the warninglist holds no usable entry")
    name = doc["name"].strip()[:300]
    try:
        version = int(doc.get("version") or 0)
    except (TypeError, ValueError):
        version = 0
    matching = [str(m) for m in doc.get("matching_attributes") or [] if isinstance(m, str)]
    fields = {
        "description": str(doc.get("description") or "")[:4000],
        "version": version,
        "list_type": list_type,
        "matching": orjson.dumps(matching).decode(),
        "enabled": True,
        "entries": len(values),
        "imported_at": datetime.now(UTC),
    }
    old = session.scalar(select(warninglists.c.id).where(warninglists.c.name == name))
    if old is not None:
        session.execute(delete(warninglist_entries).where(warninglist_entries.c.list_id == old))
        session.execute(update(warninglists).where(warninglists.c.id == old).values(**fields))
        list_id = old
    else:
        list_id = session.execute(
            insert(warninglists).values(name=name, **fields).returning(warninglists.c.id)
        ).scalar_one()
    for i in range(0, len(values), 5000):
        session.execute(
            insert(warninglist_entries),
            [{"list_id": list_id, "value": v} for v in values[i : i + 5000]],
        )
    audit.record(session, principal, "warninglist.import", "warninglist", name, entries=len(values))
    return get_list(session, list_id)


def _row(r: Any) -> Warninglist:
    return Warninglist(
        r.id, r.name, r.description, r.version, r.list_type, orjson.loads(r.matching),
        bool(r.enabled), r.entries, r.imported_at,
    )  # fmt: skip


def get_list(session: Session, list_id: int) -> Warninglist:
    row = session.execute(select(warninglists).where(warninglists.c.id == list_id)).first()
    if row is None:
        raise NotFound(f"no warninglist {list_id}")
    return _row(row)


def list_lists(session: Session) -> list[Warninglist]:
    return [_row(r) for r in session.execute(select(warninglists).order_by(warninglists.c.name))]


def find_list(session: Session, ref: str) -> Warninglist:
    if ref.isdigit():
        return get_list(session, int(ref))
    row = session.execute(select(warninglists).where(warninglists.c.name == ref)).first()
    if row is None:
        raise NotFound(f"no warninglist {ref!r}")
    return _row(row)


def remove_list(session: Session, principal: Principal | None, ref: str) -> Warninglist:
    _allowed(principal)
    found = find_list(session, ref)
    session.execute(delete(warninglist_entries).where(warninglist_entries.c.list_id == found.id))
    session.execute(delete(warninglists).where(warninglists.c.id == found.id))
    audit.record(session, principal, "warninglist.remove", "warninglist", found.name)
    return found


def set_enabled(
    session: Session, principal: Principal | None, ref: str, enabled: bool
) -> Warninglist:
    _allowed(principal)
    found = find_list(session, ref)
    session.execute(
        update(warninglists).where(warninglists.c.id == found.id).values(enabled=enabled)
    )
    return get_list(session, found.id)


def _host(v: Value) -> str | None:
    if v.kind == "domain":
        return v.value
    if v.kind in ("url", "email") and v.lo and not v.lo.startswith(n.URL_HOST):
        return n.domain_of(v.lo)
    return None


def _candidates(v: Value) -> dict[str, set[str]]:
    """The entries that would list `v`, by list type."""
    out: dict[str, set[str]] = {"string": {v.value}}
    host = _host(v)
    if host is not None:
        out["hostname"] = {host, *n.parent_domains(host)}
    if v.kind in ("ipv4", "ipv6", "ipv4-net", "ipv6-net"):
        out["cidr"] = {v.value, *n.supernets(v)}
    elif v.kind in ("url", "email") and v.lo and v.lo.startswith(n.URL_HOST):
        from minga.correlate.relations import address_of

        address = n.ip(address_of(v.lo))
        if address is not None:
            out["cidr"] = {address.value, *n.supernets(address)}
    return out


def flags(session: Session, values: Sequence[Value]) -> dict[tuple[str, str], list[str]]:
    """The names of the warninglists (built-in and imported, enabled) each value is on."""
    found: dict[tuple[str, str], list[str]] = {}
    for v in values:
        kind = _IOC_TYPES.get(v.kind)
        if kind is not None and is_benign(kind, v.value):
            found.setdefault((v.kind, v.value), []).append(BUILT_IN)
    lists = {w.id: w for w in list_lists(session) if w.enabled}
    if not lists or not values:
        return found
    wanted: dict[str, list[tuple[Value, str]]] = {}
    for v in values:
        for list_type, candidates in _candidates(v).items():
            for entry in candidates:
                wanted.setdefault(entry, []).append((v, list_type))
    keys = sorted(wanted)
    for i in range(0, len(keys), CHUNK):
        rows = session.execute(
            select(warninglist_entries.c.list_id, warninglist_entries.c.value).where(
                warninglist_entries.c.value.in_(keys[i : i + CHUNK]),
                warninglist_entries.c.list_id.in_(sorted(lists)),
            )
        )
        for list_id, entry in rows:
            for v, list_type in wanted[entry]:
                if lists[list_id].list_type == list_type:
                    _flag(found, v, lists[list_id].name)
    scanned = [w for w in lists.values() if w.list_type in ("substring", "regex")]
    for w in scanned:
        patterns = (
            session.execute(
                select(warninglist_entries.c.value).where(warninglist_entries.c.list_id == w.id)
            )
            .scalars()
            .all()
        )
        for v in values:
            if w.list_type == "substring":
                hit = any(p in v.value for p in patterns)
            else:
                hit = any(re.search(p, v.value) for p in patterns)
            if hit:
                _flag(found, v, w.name)
    return found


def _flag(found: dict[tuple[str, str], list[str]], v: Value, name: str) -> None:
    names = found.setdefault((v.kind, v.value), [])
    if name not in names:
        names.append(name)
