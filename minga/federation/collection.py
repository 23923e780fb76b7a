"""The node's federation collection: the one TAXII collection peers push to and pull from.

Made on first use, owned by the node, with a stable id kept in node settings and the alias
`ALIAS`, so a peer finds it at `{url}/taxii2/api/collections/{ALIAS}/` without asking. For a
peer's machine account it answers what `minga.federation.serve` selects for that peer, and
takes what `minga.federation.receive` verifies; for anyone else it is a view like the others.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from minga.accounts.models import NodeSetting
from minga.errors import Conflict
from minga.taxii.models import Collection

SETTING = "federation_collection_id"
ALIAS = "federation"
TITLE = "Federation"


def collection_url(node_url: str) -> str:
    """Where a node's federation collection is, from its base URL."""
    return f"{node_url.rstrip('/')}/taxii2/api/collections/{ALIAS}/"


def federation_collection_id(session: Session) -> str | None:
    row = session.get(NodeSetting, SETTING)
    return row.value if row is not None else None


def ensure_collection(session: Session) -> Collection:
    """The federation collection, made the first time it is asked for.

    Two processes may ask at once (two `minga peer add`, or a peer add and the sync loop's
    first round): the one whose setting row loses the race takes the winner's collection."""
    for _ in range(2):
        known = federation_collection_id(session)
        found = session.get(Collection, known) if known else None
        if found is not None:
            return found
        # Take the write lock before reading again (on SQLite a reader cannot become the writer
        # once another one committed; on PostgreSQL this updates nothing and the savepoint
        # below catches the loser).
        session.execute(
            update(NodeSetting).where(NodeSetting.key == SETTING).values(value=NodeSetting.value)
        )
        known = federation_collection_id(session)
        found = session.get(Collection, known) if known else None
        if found is not None:
            return found
        try:
            with session.begin_nested():
                return _make(session, known)
        except IntegrityError:
            continue  # made meanwhile by another process: read it back
    raise Conflict("the federation collection is being created by another process; try again")


def _make(session: Session, known: str | None) -> Collection:
    taken = session.scalar(select(Collection).where(Collection.alias == ALIAS))
    found = Collection(
        id=str(uuid.uuid4()),
        title=TITLE,
        description="Object versions exchanged with peer nodes (signed, per the policy).",
        alias=None if taken is not None else ALIAS,
        filters="{}",
        can_read=True,
        can_write=True,
        created_at=datetime.now(UTC),
        owner_org_id=None,
    )
    session.add(found)
    if known is None:
        session.add(NodeSetting(key=SETTING, value=found.id))
    else:
        row = session.get(NodeSetting, SETTING)
        assert row is not None
        row.value = found.id
    session.flush()
    return found


def is_federation_collection(session: Session, collection: Collection) -> bool:
    return collection.id == federation_collection_id(session)
