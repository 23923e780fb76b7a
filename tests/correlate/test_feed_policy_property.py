"""Property test: a feed never holds a value of an indicator the policy hides from its reader,
and holds every one it shows (REST export, polled feed URL with an API token and with a feed
token), over generated organisations, groups and markings."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from sqlalchemy.orm import Session, sessionmaker

from minga.accounts import service as accounts
from minga.intel import service as intel
from minga.policy import Marking, may_see
from tests.conftest import Member, add_member, refresh
from tests.test_policy_property import World, worlds


def _build(
    sessions: sessionmaker[Session], world: World
) -> tuple[list[Member], dict[str, Marking]]:
    tag = uuid.uuid4().hex[:8]
    members = [add_member(sessions, f"Feed org {tag} {i}") for i in range(world.n_orgs)]
    with sessions() as s:
        group_ids = [
            accounts.create_group(
                s,
                None,
                name=f"feed group {tag} {gi}",
                owner_org_id=members[min(idx)].org_id,
                member_org_ids=[members[i].org_id for i in idx],
            ).id
            for gi, idx in enumerate(world.groups)
        ]
        s.commit()
    members = [refresh(sessions, m) for m in members]
    truth: dict[str, Marking] = {}
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    with sessions() as s:
        for n, spec in enumerate(world.objs):
            value = f"probe-{tag}-{n}.net"
            gids = frozenset(group_ids[g] for g in spec.groups)
            owner = members[spec.owner]
            obj = {
                "type": "indicator",
                "spec_version": "2.1",
                "id": f"indicator--{uuid.uuid4()}",
                "created": stamp,  # dated now: an old one decays past validity, left out
                "modified": stamp,
                "pattern": f"[domain-name:value = '{value}']",
                "pattern_type": "stix",
                "valid_from": stamp,
            }
            intel.create_objects(
                s, owner.principal, [obj], tlp=spec.tlp, reach=spec.reach, group_ids=sorted(gids)
            )
            truth[value] = Marking(owner.org_id, spec.tlp, spec.reach, gids)
        s.commit()
    return members, truth


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(world=worlds())
def test_no_feed_holds_what_the_policy_denies(
    client: TestClient, sessions: sessionmaker[Session], world: World
) -> None:
    members, truth = _build(sessions, world)
    for m in members:
        allowed = {v for v, mk in truth.items() if may_see(m.principal, mk)}
        made = client.post("/api/feed-tokens", json={"name": "probe"}, headers=m.headers)
        token = made.json()["token"]
        paths = {
            "REST export": client.get("/api/export/txt?type=domain", headers=m.headers),
            "feed, API token": client.get("/feeds/txt?type=domain", headers=m.headers),
            "feed, feed token": client.get(f"/feeds/txt?type=domain&token={token}"),
        }
        for name, answer in paths.items():
            assert answer.status_code == 200, name
            got = set(answer.text.split()) & truth.keys()  # earlier examples' are ignored
            assert got == allowed, f"{name} for org {m.org_id}"
