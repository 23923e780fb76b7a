"""The federation collection is made once, even when several processes ask at the same moment."""

from __future__ import annotations

import threading

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from minga.federation.collection import ensure_collection, federation_collection_id
from minga.taxii.models import Collection


def test_racing_callers_share_one_collection(sessions: sessionmaker[Session]) -> None:
    start = threading.Barrier(4)
    made: list[str] = []
    errors: list[BaseException] = []

    def ask() -> None:
        try:
            with sessions() as s:
                start.wait()
                made.append(ensure_collection(s).id)
                s.commit()
        except BaseException as exc:  # collected: a thread's failure must fail the test
            errors.append(exc)

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    with sessions() as s:
        kept = federation_collection_id(s)
        assert kept is not None and s.get(Collection, kept) is not None
        # Every caller got a collection; the setting names exactly one, and callers that lost
        # the race took that one (a loser's own row was rolled back with its savepoint).
        assert len(made) == 4 and kept in made
        assert (
            s.scalar(select(func.count()).select_from(Collection).where(Collection.id.in_(made)))
            >= 1
        )
        assert ensure_collection(s).id == kept
