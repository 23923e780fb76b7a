"""Property test: correlation never tells a caller about an object the policy denies, and counts
(objects, organisations, countries) are over exactly what the caller may see.

Generated organisations, sharing groups and indicators (owner, TLP, reach, groups) that all name
one address, one in three as the /24 network holding it; each organisation looks the address
up (REST and the service) and what comes back is compared with `policy.may_see` on the
generated facts."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from sqlalchemy.orm import Session, sessionmaker

from minga.accounts import service as accounts
from minga.correlate import lookup
from minga.intel import service as intel
from minga.policy import Marking, may_see
from tests.conftest import add_member, refresh
from tests.test_policy_property import World, worlds


def _build(sessions: sessionmaker[Session], world: World, address: str):
    tag = uuid.uuid4().hex[:8]
    members = [
        add_member(sessions, f"Org {tag} {i}", country=("CR", "GT", "SV", "PA")[i])
        for i in range(world.n_orgs)
    ]
    with sessions() as s:
        group_ids = []
        for gi, member_idx in enumerate(world.groups):
            view = accounts.create_group(
                s, None, name=f"group {tag} {gi}", owner_org_id=members[min(member_idx)].org_id,
                member_org_ids=[members[i].org_id for i in member_idx],
            )  # fmt: skip
            group_ids.append(view.id)
        s.commit()
    members = [refresh(sessions, m) for m in members]
    truth: dict[str, tuple[Marking, str]] = {}
    network = address.rsplit(".", 1)[0] + ".0/24"
    with sessions() as s:
        for n, spec in enumerate(world.objs):
            oid = f"indicator--{uuid.uuid4()}"
            relation = "contains" if n % 3 == 2 else "same"
            value = network if relation == "contains" else address
            obj = {
                "type": "indicator", "spec_version": "2.1", "id": oid,
                "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z",
                "pattern": f"[ipv4-addr:value = '{value}']", "pattern_type": "stix",
                "valid_from": "2024-01-01T00:00:00.000Z",
            }  # fmt: skip
            gids = frozenset(group_ids[g] for g in spec.groups)
            owner = members[spec.owner]
            intel.create_objects(
                s, owner.principal, [obj], tlp=spec.tlp, reach=spec.reach, group_ids=sorted(gids)
            )
            truth[oid] = (Marking(owner.org_id, spec.tlp, spec.reach, gids), relation)
        s.commit()
    return members, truth


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(world=worlds())
def test_correlation_shows_and_counts_only_what_the_policy_allows(
    client: TestClient, sessions: sessionmaker[Session], world: World
) -> None:
    address = f"45.{uuid.uuid4().int % 200}.{uuid.uuid4().int % 250}.7"  # fresh per example
    members, truth = _build(sessions, world, address)
    countries = {m.org_id: ("CR", "GT", "SV", "PA")[i] for i, m in enumerate(members)}
    for m in members:
        allowed = {i: rel for i, (mk, rel) in truth.items() if may_see(m.principal, mk)}
        owners = {truth[i][0].owner_org_id for i in allowed}
        with sessions() as s:
            [found] = lookup.lookup(s, m.principal, [address], limit=100)
        assert {(x.stix_id, x.relation) for x in found.matches} == set(allowed.items())
        assert (found.objects, found.organisations) == (len(allowed), len(owners))
        assert found.countries == len({countries[o] for o in owners})
        r = client.get("/api/correlations", params={"value": address}, headers=m.headers)
        [answer] = r.json()["values"]
        assert (answer["objects"], answer["organisations"]) == (len(allowed), len(owners))
        shown = {x["stix_id"] for x in answer["matches"]}
        assert shown <= set(allowed) and (answer["common"] or shown == set(allowed))
