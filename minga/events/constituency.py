"""Constituencies: what each organisation answers for (ASNs, IP ranges, domains), declared by
its admin or imported in bulk by the node operator (the national CSIRT) from a CSV.

The CSV has a header naming `organisation` (its name or number) and `asset`, and optionally
`kind` (asn, ip, domain; guessed from the asset when absent). An import is all or nothing:
every bad line is named with its line number, and nothing is stored until all are good.
"""

from __future__ import annotations

import csv
import io
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from minga.accounts.models import Organisation
from minga.errors import Conflict, Forbidden, InvalidInput, NotFound
from minga.events.matcher import Asset, Matcher, parse_asset
from minga.events.notify_models import constituency_assets
from minga.policy import Principal, may_import_constituencies, may_manage_constituency

MAX_IMPORT_ERRORS = 20  # named in one answer; the rest are counted


@dataclass(frozen=True)
class Imported:
    added: int
    already: int


def _org(session: Session, org_id: int) -> Organisation:
    org = session.get(Organisation, org_id)
    if org is None or org.remote_node is not None:
        raise NotFound("no such organisation of this node")
    return org


def _require(principal: Principal | None, org_id: int) -> None:
    if principal is not None and not may_manage_constituency(principal, org_id):
        raise Forbidden(
            "an organisation's constituency is declared by its admins or by the node operator"
        )


def list_assets(session: Session, principal: Principal | None, org_id: int) -> list[dict[str, Any]]:
    _require(principal, org_id)
    _org(session, org_id)
    rows = session.execute(
        select(constituency_assets)
        .where(constituency_assets.c.org_id == org_id)
        .order_by(constituency_assets.c.kind, constituency_assets.c.value)
    )
    return [{"id": r.id, "kind": r.kind, "value": r.value} for r in rows]


def add_asset(
    session: Session, principal: Principal | None, org_id: int, text: str, kind: str | None = None
) -> dict[str, Any]:
    _require(principal, org_id)
    _org(session, org_id)
    try:
        kind, value = parse_asset(text, kind or None)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from exc
    same = select(constituency_assets.c.id).where(
        constituency_assets.c.org_id == org_id,
        constituency_assets.c.kind == kind,
        constituency_assets.c.value == value,
    )
    if session.scalar(same) is not None:
        raise Conflict(f"{value} is already in this constituency")
    new_id = session.execute(
        insert(constituency_assets)
        .values(org_id=org_id, kind=kind, value=value, created_at=datetime.now(UTC))
        .returning(constituency_assets.c.id)
    ).scalar_one()
    return {"id": int(new_id), "kind": kind, "value": value}


def remove_asset(session: Session, principal: Principal | None, org_id: int, asset_id: int) -> None:
    _require(principal, org_id)
    gone = session.execute(
        delete(constituency_assets).where(
            constituency_assets.c.id == asset_id, constituency_assets.c.org_id == org_id
        )
    )
    if not getattr(gone, "rowcount", 0):
        raise NotFound("no such asset in this constituency")


def import_csv(session: Session, principal: Principal | None, text: str) -> Imported:
    """Every row of a constituency CSV, all or nothing (`principal` None: the command line)."""
    if principal is not None and not may_import_constituencies(principal):
        raise Forbidden("only the node operator imports constituencies in bulk")
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip().lower() for h in next(reader, [])]
    if "organisation" not in header or "asset" not in header:
        raise InvalidInput("line 1: the header must name the columns organisation and asset")
    at_org, at_asset = header.index("organisation"), header.index("asset")
    at_kind = header.index("kind") if "kind" in header else None
    orgs = session.execute(
        select(Organisation.id, Organisation.name).where(Organisation.remote_node.is_(None))
    ).all()
    by_name = {name.casefold(): oid for oid, name in orgs} | {str(oid): oid for oid, _ in orgs}
    wanted: set[tuple[int, str, str]] = set()
    errors: list[str] = []
    for line, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue
        try:
            if len(row) < len(header):
                raise ValueError(f"{len(row)} columns where the header has {len(header)}")
            org_id = by_name.get(row[at_org].strip().casefold())
            if org_id is None:
                raise ValueError(f"no organisation named {row[at_org].strip()!r}")
            kind = row[at_kind].strip().lower() if at_kind is not None else ""
            wanted.add((org_id, *parse_asset(row[at_asset], kind or None)))
        except ValueError as exc:
            errors.append(f"line {line}: {exc}")
    if errors:
        more = len(errors) - MAX_IMPORT_ERRORS
        shown = "; ".join(errors[:MAX_IMPORT_ERRORS]) + (f"; and {more} more" if more > 0 else "")
        raise InvalidInput(f"nothing was imported: {shown}")
    have = set(
        session.execute(
            select(
                constituency_assets.c.org_id,
                constituency_assets.c.kind,
                constituency_assets.c.value,
            )
        )
    )
    new = sorted(wanted - have)
    now = datetime.now(UTC)
    for start in range(0, len(new), 1000):
        session.execute(
            insert(constituency_assets),
            [
                {"org_id": o, "kind": k, "value": v, "created_at": now}
                for o, k, v in new[start : start + 1000]
            ],
        )
    return Imported(added=len(new), already=len(wanted) - len(new))


# The compiled matcher, rebuilt when the table changes (its row count, highest id, organisation
# sum or newest row move: a delete and an add, or a table emptied and refilled, change one).
_cache: dict[str, Any] = {}
_cache_lock = threading.Lock()


def matcher(session: Session) -> Matcher:
    c = constituency_assets.c
    stamp = session.execute(
        select(func.count(), func.max(c.id), func.sum(c.org_id), func.max(c.created_at))
    ).one()
    key = (str(getattr(session.get_bind(), "url", "")), *map(str, stamp))
    with _cache_lock:
        if _cache.get("key") == key:
            found: Matcher = _cache["matcher"]
            return found
    rows = session.execute(select(c.org_id, c.kind, c.value))
    built = Matcher(Asset(r.org_id, r.kind, r.value) for r in rows)
    with _cache_lock:
        _cache.update(key=key, matcher=built)
    return built
