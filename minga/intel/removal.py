"""Deleting an object's versions (its owner only): the newest remaining version becomes the
latest, its sightings and scores follow (`minga.correlate.stored.after_delete`), an outbox event
and an audit record say so."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from minga import audit
from minga.correlate.stored import after_delete
from minga.errors import Forbidden, NotFound
from minga.events import outbox
from minga.intel import positions
from minga.intel.models import object_groups, objects
from minga.intel.queries import ObjectQuery, StoredObject, query_statement, stored_object
from minga.policy import Action, Principal, may


def delete_objects(
    session: Session, principal: Principal, stix_id: str, q: ObjectQuery | None = None
) -> list[StoredObject]:
    """Hard-delete the versions of one object matching `q` (default: every version).

    Only the owning organisation may; the newest remaining version becomes the latest.
    """
    if not may(principal, Action.PUBLISH):
        raise Forbidden(f"the role {principal.role.value!r} may not delete objects")
    q = replace(
        q or ObjectQuery(all_versions=True), ids=[stix_id], include_revoked=True, one_copy=False
    )
    seen = [stored_object(r) for r in session.execute(query_statement(principal, q))]
    if not seen:
        raise NotFound(f"no object {stix_id} that you may see")
    found = [f for f in seen if f.owner_org_id == principal.org_id]  # only your own copy
    if not found:
        raise Forbidden("only the organisation that created an object may delete it")
    pks = [f.pk for f in found]
    positions.lock(session)  # the latest flag moves: no writer may interleave
    session.execute(delete(object_groups).where(object_groups.c.object_pk.in_(pks)))
    session.execute(delete(objects).where(objects.c.pk.in_(pks)))
    mine = (objects.c.stix_id == stix_id, objects.c.owner_org_id == principal.org_id)
    newest = session.scalar(select(func.max(objects.c.modified_us)).where(*mine))
    if newest is not None:
        session.execute(
            update(objects).where(*mine, objects.c.modified_us == newest).values(is_latest=True)
        )
    after_delete(session, principal, stix_id, gone=newest is None)  # sightings and scores
    outbox.emit(
        session,
        outbox.OBJECTS_DELETED,
        actor_org_id=principal.org_id,
        actor_user_id=principal.user_id,
        subject=stix_id,
        count=len(found),
        payload={"gone": newest is None},
    )
    audit.record(
        session,
        principal,
        "objects.delete",
        "stix",
        stix_id,
        versions=[f.version or f.date_added for f in found],
    )
    return found
