"""Rows of the object store: building them, writing them fast, and comparing stored content."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

import orjson
from sqlalchemy.orm import Session

from minga.correlate.index import values_of
from minga.correlate.normalise import Value
from minga.intel.models import objects
from minga.intel.stix import TLP_MARKINGS, search_text, ts_to_us, version_of
from minga.policy import Principal, Reach, Tlp, exercise_of

ROW_CHUNK = 5000  # objects serialised and written per round of one bulk write

ROW_KEYS = (
    "stix_id", "type", "spec_version", "created", "modified", "modified_us", "added_us",
    "owner_org_id", "tlp", "reach", "has_groups", "origin_node", "hop_count", "source",
    "revoked", "is_latest", "has_copies", "search_text", "raw", "exercise", "source_ref",
    "target_ref",
)  # fmt: skip
row_values = itemgetter(*ROW_KEYS)  # a row's values in ROW_KEYS order, at C speed


@dataclass(frozen=True, slots=True)
class Sent:
    """What the writer itself said, before the store filled in a creator."""

    creator: bool


def as_sent(obj: dict[str, Any]) -> Sent:
    return Sent("created_by_ref" in obj)


def _comparable(obj: dict[str, Any], sent: Sent) -> dict[str, Any]:
    out = {k: v for k, v in obj.items() if k not in ("modified", "created")}
    out["created"] = _us(obj.get("created"))
    if not sent.creator:
        out.pop("created_by_ref", None)
    # The TLP is the store's sharing decision (importers mark unmarked objects with their
    # default): a re-sent version never changes it, and another TLP is no other content.
    refs = [r for r in out.get("object_marking_refs") or () if r not in TLP_MARKINGS]
    out.pop("object_marking_refs", None)
    if refs:
        out["object_marking_refs"] = refs
    return out


def _us(value: Any) -> Any:
    try:
        return ts_to_us(value) if isinstance(value, str) else value
    except ValueError:
        return value


def same_content(stored: dict[str, Any], obj: dict[str, Any], sent: Sent) -> bool:
    """Whether `obj` (one version, as prepared for storing) says what the stored one says.

    `modified` is equal by construction; `created` is compared as an instant (".000Z" and "Z"
    are one time); a creator the store filled in and TLP markings are not the content.
    """
    return _comparable(stored, sent) == _comparable(obj, sent)


def build_row(
    obj: dict[str, Any],
    principal: Principal,
    tlp: Tlp,
    reach: Reach,
    has_groups: bool,
    provenance: Any,
    mod_us: int,
) -> dict[str, Any]:
    version = version_of(obj)
    return {
        "stix_id": obj["id"],
        "type": obj["type"],
        "spec_version": obj.get("spec_version", "2.1"),
        "created": obj.get("created", version),
        "modified": version,
        "modified_us": mod_us,
        "owner_org_id": principal.org_id,
        "tlp": tlp.value,
        "reach": reach.value,
        "has_groups": has_groups,
        "origin_node": provenance.origin_node,
        "hop_count": provenance.hop_count,
        "source": provenance.source,
        "revoked": bool(obj.get("revoked", False)),
        "has_copies": False,
        "search_text": search_text(obj),
        "raw": orjson.dumps(obj).decode(),
        "exercise": exercise_of(obj),
        "source_ref": _end(obj, "source_ref"),
        "target_ref": _end(obj, "target_ref"),
    }


def _end(obj: dict[str, Any], key: str) -> str | None:
    """A relationship's end (checked as a STIX id by `check_object`); None for other types."""
    if obj["type"] != "relationship":
        return None
    value = obj.get(key)
    return value if isinstance(value, str) and len(value) <= 128 else None


def early_rows(
    items: Iterable[tuple[dict[str, Any], Tlp, int]],
    principal: Principal,
    reach: Reach,
    has_groups: bool,
    provenance: Any,
) -> dict[int, tuple[dict[str, Any], list[Value]]]:
    """Each object's row (`build_row`) and observable values, by the object's `id()`: work that
    needs no lock, done before a write takes the store's write lock so that other writers of
    the node store meanwhile (`positions.lock`). The objects must not change afterwards."""
    return {
        id(obj): (
            build_row(obj, principal, tlp, reach, has_groups, provenance, mod_us),
            values_of(obj),
        )
        for obj, tlp, mod_us in items
    }


def insert_many(session: Session, rows: list[dict[str, Any]]) -> None:
    """Driver-level executemany: SQLAlchemy's per-row parameter processing costs ~15% of a bulk
    write and these rows are already plain str/int/bool values."""
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        # COPY is several times faster than a pipelined executemany on PostgreSQL.
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        with cursor.copy(f"COPY {objects.name} ({', '.join(ROW_KEYS)}) FROM STDIN") as copy:
            for r in rows:
                copy.write_row(row_values(r))
        return
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = (
        f"INSERT INTO {objects.name} ({', '.join(ROW_KEYS)}) "
        f"VALUES ({', '.join([mark] * len(ROW_KEYS))})"
    )
    conn.exec_driver_sql(sql, [row_values(r) for r in rows])
