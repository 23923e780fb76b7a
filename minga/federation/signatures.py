"""This node's signatures of its own versions, kept once made (`VersionSignature`).

Serving a version signs it the first time (`minga.federation.serve`); the signature is kept
with the key and the sharing terms it covers, so pushing or serving the version again, to this
peer or any other, attaches it instead of signing again. Keeping is best effort: a signature
not kept is made again next time, never wrong (a relaying node forwards the origin's
signature as it came, and stores nothing here).
"""

from __future__ import annotations

import logging
from typing import Any, NamedTuple

import orjson
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from minga.federation.models import VersionSignature
from minga.intel.queries import CHUNK

log = logging.getLogger("minga.federation")


class Kept(NamedTuple):
    origin_key: str
    terms: str
    signature: str


def terms_text(terms: dict[str, Any], node_name: str) -> str:
    """What a signature covers besides the object and the key, as compared with kept ones:
    the node's name and the sharing terms (keys sorted: a reach and a list of refs)."""
    signed = {**terms, "origin_node": node_name}
    return orjson.dumps(signed, option=orjson.OPT_SORT_KEYS).decode()


def kept_for(session: Session, pks: list[int]) -> dict[int, Kept]:
    """The signatures kept for these versions (row pks)."""
    found: dict[int, Kept] = {}
    for start in range(0, len(pks), CHUNK):
        rows = session.execute(
            select(
                VersionSignature.object_pk,
                VersionSignature.origin_key,
                VersionSignature.terms,
                VersionSignature.signature,
            ).where(VersionSignature.object_pk.in_(pks[start : start + CHUNK]))
        )
        found.update({r.object_pk: Kept(r.origin_key, r.terms, r.signature) for r in rows})
    return found


def keep(session: Session, made: list[dict[str, Any]]) -> None:
    """Keep signatures just made (rows of `VersionSignature`); a kept one is replaced."""
    if not made:
        return
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(VersionSignature)
    upsert = stmt.on_conflict_do_update(
        index_elements=["object_pk"],
        set_={
            "origin_key": stmt.excluded.origin_key,
            "terms": stmt.excluded.terms,
            "signature": stmt.excluded.signature,
        },
    )
    session.execute(upsert, made)


def keep_apart(session: Session, made: list[dict[str, Any]]) -> None:
    """`keep` in a transaction of its own beside `session` (a read that served them, which on
    SQLite cannot become a writer once another one committed); skipped if the store is busy."""
    if not made:
        return
    with Session(bind=session.get_bind()) as apart:
        try:
            keep(apart, made)
            apart.commit()
        except SQLAlchemyError as exc:
            apart.rollback()
            log.info(
                "federation: %d signatures not kept (made again next time): %s", len(made), exc
            )
