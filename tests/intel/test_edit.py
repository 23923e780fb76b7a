"""A new version made by the owner from a form (`minga.intel.edit`): name, description,
expiry, TLP; anyone else, observables and revoked objects are refused. Both backends."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from minga.errors import Forbidden, InvalidInput
from minga.intel import edit, service
from minga.intel.stix import TLP2_MARKING_ID
from minga.policy import Marking, Reach, Tlp, may_version
from tests.conftest import add_member
from tests.factories import indicator


def test_owner_changes_name_expiry_and_tlp(sessions: sessionmaker[Session]):
    a, b = add_member(sessions, "Org A"), add_member(sessions, "Org B")
    obj = indicator(1)
    with sessions() as s:
        service.create_objects(s, a.principal, [obj], tlp=Tlp.AMBER, reach=Reach.COMMUNITY)
        s.commit()
    changes = edit.Changes(
        name="C2 confirmed", description="", valid_until="2099-01-01T00:00:00Z", tlp=Tlp.GREEN
    )
    with sessions() as s:
        version = edit.new_version(s, a.principal, obj["id"], changes)
        s.commit()
    with sessions() as s:
        got = service.get_object(s, b.principal, obj["id"])  # GREEN: B sees it now
        new = got.object()
        assert (got.tlp, got.reach, new["modified"]) == (Tlp.GREEN, Reach.COMMUNITY, version)
        assert new["name"] == "C2 confirmed" and "description" not in new
        assert new["valid_until"] == "2099-01-01T00:00:00.000000Z"
        assert TLP2_MARKING_ID[Tlp.GREEN] in new["object_marking_refs"]
        assert TLP2_MARKING_ID[Tlp.AMBER] not in new["object_marking_refs"]
        assert len(service.versions(s, a.principal, obj["id"])) == 2
        with pytest.raises(Forbidden):
            edit.new_version(s, b.principal, obj["id"], edit.Changes(name="mine"))
        with pytest.raises(InvalidInput, match="later than"):
            edit.new_version(s, a.principal, obj["id"], edit.Changes(valid_until=obj["created"]))


def test_nothing_changed_stores_nothing_and_revoked_is_final(sessions: sessionmaker[Session]):
    a = add_member(sessions, "Org A")
    obj = indicator(2)
    with sessions() as s:
        service.create_objects(s, a.principal, [obj], tlp=Tlp.AMBER)
        s.commit()
        same = edit.new_version(s, a.principal, obj["id"], edit.Changes(name=obj["name"]))
        assert same == obj["modified"] and len(service.versions(s, a.principal, obj["id"])) == 1
        service.revoke(s, a.principal, obj["id"])
        s.commit()
        with pytest.raises(InvalidInput, match="revoked"):
            edit.new_version(s, a.principal, obj["id"], edit.Changes(name="again"))


def test_may_version_is_the_owners_publishing_roles_only(sessions: sessionmaker[Session]):
    a = add_member(sessions, "Org A")
    reader = add_member(sessions, "Org R", role="reader")
    mine = Marking(owner_org_id=a.principal.org_id, tlp=Tlp.GREEN, reach=Reach.COMMUNITY)
    assert may_version(a.principal, mine)
    theirs = Marking(owner_org_id=reader.principal.org_id, tlp=Tlp.GREEN, reach=Reach.COMMUNITY)
    assert not may_version(a.principal, theirs)
    assert not may_version(reader.principal, theirs)  # its own, but a reader publishes nothing
