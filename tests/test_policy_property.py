"""Property test: no caller ever receives an object the policy denies, on every read path.

The authority half (who may do what, on every write and admin route) is
`tests/accounts/test_authority_property.py`.

Hypothesis generates organisations, sharing groups, objects (owner, TLP, reach, groups) and callers;
each read path below is asked for everything it will give each caller, and what comes back is
compared with `policy.may_see` evaluated on the generated facts (the truth, not the database).
List paths must also be complete: everything the policy allows is returned.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session, sessionmaker

from minga.accounts import service as accounts
from minga.intel import service as intel
from minga.policy import Marking, Reach, Tlp, may_see
from minga.taxii.models import DEFAULT_COLLECTION_ID
from tests.conftest import Member, add_member, refresh
from tests.web.conftest import sign_in

CSRF = re.compile(r'name="csrf" value="([^"]+)"')
MALWARE_ID = re.compile(r"malware--[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
NEXT_CURSOR = re.compile(r'cursor=([A-Za-z0-9_-]+)[^"]*" rel="next"')


@dataclass(frozen=True)
class ObjSpec:
    owner: int  # index into the generated organisations
    tlp: Tlp
    reach: Reach
    groups: frozenset[int]  # indexes into the generated groups


@dataclass(frozen=True)
class World:
    n_orgs: int
    groups: list[frozenset[int]]  # member org indexes of each group (owner = first member)
    objs: list[ObjSpec]


@st.composite
def worlds(draw: st.DrawFn) -> World:
    n_orgs = draw(st.integers(2, 4))
    orgs = st.integers(0, n_orgs - 1)
    groups = draw(st.lists(st.frozensets(orgs, min_size=1, max_size=n_orgs), max_size=3))
    objs = draw(
        st.lists(
            st.builds(
                ObjSpec,
                owner=orgs,
                tlp=st.sampled_from(list(Tlp)),
                reach=st.sampled_from(list(Reach)),
                groups=st.frozensets(st.integers(0, max(len(groups) - 1, 0)), max_size=2)
                if groups
                else st.just(frozenset()),
            ),
            min_size=3,
            max_size=20,
        )
    )
    # An organisation can only share with groups it belongs to.
    objs = [o for o in objs if all(o.owner in groups[g] for g in o.groups)]
    return World(n_orgs, groups, objs)


def _rest_list(client: TestClient, m: Member) -> set[str]:
    seen: set[str] = set()
    cursor = None
    while True:
        url = "/api/objects?limit=7&type=malware&include_revoked=true"
        r = client.get(url + (f"&cursor={cursor}" if cursor else ""), headers=m.headers)
        assert r.status_code == 200
        seen |= {o["object"]["id"] for o in r.json()["objects"]}
        cursor = r.json()["next"]
        if cursor is None:
            return seen


def _rest_search(client: TestClient, m: Member) -> set[str]:
    r = client.get("/api/objects?q=policy-probe&limit=1000", headers=m.headers)
    return {o["object"]["id"] for o in r.json()["objects"]}


def _rest_get(client: TestClient, m: Member, ids: list[str]) -> set[str]:
    got = set()
    for i in ids:
        r = client.get(f"/api/objects/{i}", headers=m.headers)
        assert r.status_code in (200, 404)
        if r.status_code == 200:
            got.add(r.json()["object"]["id"])
    return got


def _rest_versions(client: TestClient, m: Member, ids: list[str]) -> set[str]:
    got = set()
    for i in ids:
        r = client.get(f"/api/objects/{i}/versions", headers=m.headers)
        assert r.status_code in (200, 404)
        if r.status_code == 200:
            got |= {v["object"]["id"] for v in r.json()["versions"]}
    return got


TAXII_ROOT = f"/taxii2/api/collections/{DEFAULT_COLLECTION_ID}"
TAXII_ACCEPT = "application/taxii+json;version=2.1"


def _taxii_walk(client: TestClient, m: Member, resource: str) -> set[str]:
    seen: set[str] = set()
    nxt = None
    while True:
        url = f"{TAXII_ROOT}/{resource}/?match[type]=malware&limit=7"
        r = client.get(
            url + (f"&next={nxt}" if nxt else ""),
            headers={**m.headers, "Accept": TAXII_ACCEPT},
        )
        assert r.status_code == 200, r.text
        body = r.json()
        seen |= {o["id"] for o in body.get("objects", body.get("objects", []))}
        if not body.get("more"):
            return seen
        nxt = body["next"]


def _taxii_objects(client: TestClient, m: Member) -> set[str]:
    return _taxii_walk(client, m, "objects")


def _taxii_manifest(client: TestClient, m: Member) -> set[str]:
    return _taxii_walk(client, m, "manifest")


def _taxii_by_id(suffix: str) -> Callable[[TestClient, Member, list[str]], set[str]]:
    def fetch(client: TestClient, m: Member, ids: list[str]) -> set[str]:
        got = set()
        for i in ids:
            r = client.get(
                f"{TAXII_ROOT}/objects/{i}/{suffix}",
                headers={**m.headers, "Accept": TAXII_ACCEPT},
            )
            assert r.status_code in (200, 404), r.text
            body = r.json() if r.status_code == 200 else {}
            if body.get("objects") or body.get("versions"):
                got.add(i)
        return got

    return fetch


def _browser(client: TestClient, m: Member) -> TestClient:
    """A signed-in web session (its own cookie jar) for the member."""
    cached = _SIGNED_IN.get(m.token)
    if cached is not None and cached.app is client.app:
        return cached
    web = TestClient(client.app)
    sign_in(web, m.token)  # password, then the TOTP code (argon2: once per member)
    _SIGNED_IN[m.token] = web
    return web


_SIGNED_IN: dict[str, TestClient] = {}


def _web_list(client: TestClient, m: Member) -> set[str]:
    web = _browser(client, m)
    seen: set[str] = set()
    url = "/objects?type=malware&q=policy-probe"
    while True:
        html = web.get(url).text
        seen |= set(MALWARE_ID.findall(html))
        cursor = NEXT_CURSOR.search(html)
        if cursor is None:
            return seen
        url = f"/objects?type=malware&q=policy-probe&cursor={cursor.group(1)}"


def _web_detail(client: TestClient, m: Member, ids: list[str]) -> set[str]:
    web = _browser(client, m)
    got = set()
    for i in ids:
        r = web.get(f"/objects/{i}")
        assert r.status_code in (200, 404)
        if r.status_code == 200:
            got.add(i)
    return got


# Read paths that list (must be exact) and that fetch by id (must never over-share).
LIST_PATHS: dict[str, Callable[[TestClient, Member], set[str]]] = {
    "GET /api/objects": _rest_list,
    "GET /api/objects?q=": _rest_search,
    "TAXII objects": _taxii_objects,
    "TAXII manifest": _taxii_manifest,
    "web /objects": _web_list,
}
ID_PATHS: dict[str, Callable[[TestClient, Member, list[str]], set[str]]] = {
    "GET /api/objects/{id}": _rest_get,
    "GET /api/objects/{id}/versions": _rest_versions,
    "TAXII object by id": _taxii_by_id(""),
    "TAXII versions": _taxii_by_id("versions/"),
    "web /objects/{id}": _web_detail,
}


def _build(
    sessions: sessionmaker[Session], world: World
) -> tuple[list[Member], dict[str, Marking]]:
    tag = uuid.uuid4().hex[:8]
    members = [add_member(sessions, f"Org {tag} {i}") for i in range(world.n_orgs)]
    truth: dict[str, Marking] = {}
    with sessions() as s:
        group_ids = []
        for gi, member_idx in enumerate(world.groups):
            owner = members[min(member_idx)].org_id
            view = accounts.create_group(
                s,
                None,
                name=f"group {tag} {gi}",
                owner_org_id=owner,
                member_org_ids=[members[i].org_id for i in member_idx],
            )
            group_ids.append(view.id)
        s.commit()
    members = [refresh(sessions, m) for m in members]
    with sessions() as s:
        for n, spec in enumerate(world.objs):
            oid = f"malware--{uuid.uuid4()}"
            gids = frozenset(group_ids[g] for g in spec.groups)
            owner = members[spec.owner]
            obj = {
                "type": "malware",
                "spec_version": "2.1",
                "id": oid,
                "created": "2024-01-01T00:00:00.000Z",
                "modified": "2024-01-01T00:00:00.000Z",
                "name": f"policy-probe {tag} {n}",
                "is_family": True,
            }
            intel.create_objects(
                s, owner.principal, [obj], tlp=spec.tlp, reach=spec.reach, group_ids=sorted(gids)
            )
            truth[oid] = Marking(owner.org_id, spec.tlp, spec.reach, gids)
        s.commit()
    return members, truth


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(world=worlds())
def test_no_read_path_returns_what_the_policy_denies(
    client: TestClient, sessions: sessionmaker[Session], world: World
) -> None:
    members, truth = _build(sessions, world)
    ids = sorted(truth)
    for m in members:
        allowed = {i for i, mk in truth.items() if may_see(m.principal, mk)}
        for name, list_path in LIST_PATHS.items():
            got = list_path(client, m) & truth.keys()  # earlier examples' objects are ignored
            assert got == allowed, f"{name} for org {m.org_id}"
        for name, id_path in ID_PATHS.items():
            got = id_path(client, m, ids)
            assert got == allowed, f"{name} for org {m.org_id}"


@settings(max_examples=200, deadline=None)
@given(
    tlp=st.sampled_from(list(Tlp)),
    reach=st.sampled_from(list(Reach)),
    groups=st.frozensets(st.integers(1, 4), max_size=3),
    mine=st.frozensets(st.integers(1, 4), max_size=3),
    own=st.booleans(),
    remote=st.booleans(),
)
def test_policy_rules_in_plain_words(
    tlp: Tlp, reach: Reach, groups: frozenset[int], mine: frozenset[int], own: bool, remote: bool
) -> None:
    from minga.policy import Principal, Role

    p = Principal(
        user_id=1, org_id=1, role=Role.READER, identity_ref="x", group_ids=mine, remote=remote
    )
    m = Marking(owner_org_id=1 if own else 2, tlp=tlp, reach=reach, group_ids=groups)
    seen = may_see(p, m)
    if own:
        assert seen
    elif remote or reach is Reach.ORGANISATION:  # remote: its node receives by federation only
        assert not seen
    elif groups:
        assert seen == bool(groups & mine)
    elif tlp in (Tlp.AMBER_STRICT, Tlp.RED):
        assert not seen
    else:
        assert seen


# Every combination once, deterministically: owner A, caller B, B in the group or not.
CASES = [(t, r, g) for t in Tlp for r in Reach for g in ("none", "with-b", "without-b")]


def test_every_marking_combination_on_the_rest_api(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    a, b, c = (add_member(sessions, f"Combo {x}") for x in "ABC")
    with sessions() as s:
        ab = accounts.create_group(
            s, None, name="A+B", owner_org_id=a.org_id, member_org_ids=[b.org_id]
        )
        ac = accounts.create_group(
            s, None, name="A+C", owner_org_id=a.org_id, member_org_ids=[c.org_id]
        )
        s.commit()
    a, b = refresh(sessions, a), refresh(sessions, b)
    truth: dict[str, Marking] = {}
    with sessions() as s:
        for tlp, reach, g in CASES:
            gids = {"none": [], "with-b": [ab.id], "without-b": [ac.id]}[g]
            oid = f"malware--{uuid.uuid4()}"
            obj = {
                "type": "malware",
                "spec_version": "2.1",
                "id": oid,
                "created": "2024-01-01T00:00:00.000Z",
                "modified": "2024-01-01T00:00:00.000Z",
                "name": "policy-probe combo",
                "is_family": True,
            }
            intel.create_objects(s, a.principal, [obj], tlp=tlp, reach=reach, group_ids=gids)
            truth[oid] = Marking(a.org_id, tlp, reach, frozenset(gids))
        s.commit()
    allowed = {i for i, mk in truth.items() if may_see(b.principal, mk)}
    expected = {
        i
        for i, (tlp, reach, g) in zip(truth, CASES, strict=True)
        if reach is not Reach.ORGANISATION
        and (g == "with-b" or (g == "none" and tlp not in (Tlp.AMBER_STRICT, Tlp.RED)))
    }
    assert allowed == expected
    for name, list_path in LIST_PATHS.items():
        assert list_path(client, b) & truth.keys() == expected, name
        assert list_path(client, a) & truth.keys() == set(truth), name
    for name, id_path in ID_PATHS.items():
        assert id_path(client, b, sorted(truth)) == expected, name


# -- incidents: every read path of `/api/incidents` agrees with `may_see_incident` ----------


@dataclass(frozen=True)
class IncidentSpec:
    holder: int  # index into the generated organisations
    tlp: Tlp
    named: frozenset[int]  # reporter / affected / assigned organisations
    record_tlp: Tlp  # TLP of one attachment shared in the case


@st.composite
def incident_worlds(draw: st.DrawFn) -> tuple[int, int | None, list[IncidentSpec]]:
    n_orgs = draw(st.integers(2, 4))
    orgs = st.integers(0, n_orgs - 1)
    operator = draw(st.none() | orgs)  # the node's coordinator, if any of them
    specs = draw(
        st.lists(
            st.builds(
                IncidentSpec,
                holder=orgs,
                tlp=st.sampled_from(list(Tlp)),
                named=st.frozensets(orgs, max_size=n_orgs),
                record_tlp=st.sampled_from(list(Tlp)),
            ),
            min_size=1,
            max_size=8,
        )
    )
    return n_orgs, operator, specs


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(world=incident_worlds())
def test_no_incident_path_returns_what_the_policy_denies(
    client: TestClient,
    sessions: sessionmaker[Session],
    world: tuple[int, int | None, list[IncidentSpec]],
) -> None:
    from minga.accounts.node import set_operator_org
    from minga.incidents import service as incidents
    from minga.incidents import work
    from minga.policy import IncidentMarking, may_see_incident, may_see_incident_record

    n_orgs, operator, specs = world
    tag = uuid.uuid4().hex[:8]
    members = [add_member(sessions, f"Inc {tag} {i}") for i in range(n_orgs)]
    with sessions() as s:
        # No operator among them: an organisation made only for that.
        op_org = members[operator].org_id if operator is not None else None
        if op_org is None:
            op_org = add_member(sessions, f"Inc {tag} operator").org_id
        set_operator_org(s, op_org)
        s.commit()
    members = [refresh(sessions, m) for m in members]
    truth: dict[int, IncidentMarking] = {}
    files: dict[int, tuple[int, Tlp]] = {}
    with sessions() as s:
        for n, spec in enumerate(specs):
            holder = members[spec.holder]
            data = incidents.IncidentIn(
                title=f"policy-probe {tag} {n}",
                classification="fraud:phishing",
                severity="high",
                tlp=spec.tlp.value,
                reporter_org_id=holder.org_id,
                extra_named={members[i].org_id: "affected" for i in spec.named},
            )
            inc = incidents.create_incident(
                s, holder.principal, data, severity_scale="low,medium,high,very-high"
            )
            named = frozenset(members[i].org_id for i in spec.named) | {holder.org_id}
            truth[inc.id] = IncidentMarking(holder.org_id, spec.tlp, named)
            a = work.add_attachment(
                s, holder.principal, inc.id, name="x.txt", content=b"x",
                tlp=spec.record_tlp.value, max_bytes=10, at=inc.created_at,
            )  # fmt: skip
            files[a.id] = (inc.id, spec.record_tlp)
        s.commit()
    # The principals carry `operator_org` as the token verifier reads it now.
    members = [refresh(sessions, m) for m in members]
    for m in members:
        allowed = {i for i, mk in truth.items() if may_see_incident(m.principal, mk)}
        listed = {
            x["id"] for x in client.get("/api/incidents?limit=1000", headers=m.headers).json()
        }
        assert listed & truth.keys() == allowed, f"GET /api/incidents for org {m.org_id}"
        for iid in truth:
            r = client.get(f"/api/incidents/{iid}", headers=m.headers)
            assert (r.status_code == 200) == (iid in allowed), f"incident {iid} org {m.org_id}"
            assert r.status_code in (200, 404)
        for aid, (iid, tlp) in files.items():
            r = client.get(f"/api/incidents/attachments/{aid}", headers=m.headers)
            expected = may_see_incident_record(m.principal, truth[iid], tlp)
            assert (r.status_code == 200) == expected, f"attachment {aid} org {m.org_id}"


@settings(max_examples=200, deadline=None)
@given(
    tlp=st.sampled_from(list(Tlp)),
    holder=st.booleans(),
    named=st.booleans(),
    operator=st.booleans(),
    remote=st.booleans(),
)
def test_incident_rules_in_plain_words(
    tlp: Tlp, holder: bool, named: bool, operator: bool, remote: bool
) -> None:
    from minga.policy import IncidentMarking, Principal, Role, may_see_incident

    p = Principal(
        user_id=1, org_id=1, role=Role.READER, identity_ref="x", operator_org=operator,
        remote=remote,
    )  # fmt: skip
    m = IncidentMarking(1 if holder else 2, tlp, frozenset({1} if named else {3}))
    seen = may_see_incident(p, m)
    if holder or named:
        assert seen
    elif remote or not operator:
        assert not seen
    else:  # the node's coordinator oversees every case but those at TLP:RED
        assert seen == (tlp is not Tlp.RED)


# -- sightings: counted through the policy, attributed only where the policy says -----------


@dataclass(frozen=True)
class SightSpec:
    by: int  # index into the generated organisations
    tlp: Tlp
    reach: Reach
    groups: frozenset[int]
    anonymous: bool
    false_positive: bool
    count: int


@st.composite
def sighting_worlds(draw: st.DrawFn) -> tuple[World, list[SightSpec]]:
    n_orgs = draw(st.integers(2, 4))
    orgs = st.integers(0, n_orgs - 1)
    groups = draw(st.lists(st.frozensets(orgs, min_size=1, max_size=n_orgs), max_size=2))
    specs = draw(
        st.lists(
            st.builds(
                SightSpec,
                by=orgs,
                tlp=st.sampled_from(list(Tlp)),
                reach=st.sampled_from(list(Reach)),
                groups=st.frozensets(st.integers(0, max(len(groups) - 1, 0)), max_size=1)
                if groups
                else st.just(frozenset()),
                anonymous=st.booleans(),
                false_positive=st.booleans(),
                count=st.integers(1, 5),
            ),
            min_size=1,
            max_size=8,
        )
    )
    specs = [s for s in specs if all(s.by in groups[g] for g in s.groups)]
    return World(n_orgs, groups, []), specs


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(drawn=sighting_worlds())
def test_sighting_counts_and_attribution_follow_the_policy(
    client: TestClient, sessions: sessionmaker[Session], drawn: tuple[World, list[SightSpec]]
) -> None:
    from minga.correlate import scores, sightings
    from minga.intel.stix import now_ts
    from minga.policy import counts_for_everyone, may_count_sighting, may_know_sighter

    world, specs = drawn
    members, _ = _build(sessions, world)
    with sessions() as s:
        tag = accounts.get_organisation(s, members[0].org_id).name.split()[1]
        by_name = {g.name: g.id for g in accounts.list_groups(s)}
        names = {m.org_id: accounts.get_organisation(s, m.org_id).name for m in members}
    group_ids = [by_name[f"group {tag} {gi}"] for gi in range(len(world.groups))]
    ts = now_ts()
    target = {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--{uuid.uuid4()}",
        "created": ts,
        "modified": ts,
        "pattern": "[ipv4-addr:value = '192.0.2.1']",
        "pattern_type": "stix",
        "valid_from": ts,
    }
    truth: list[tuple[SightSpec, Marking]] = []
    with sessions() as s:
        intel.create_objects(s, members[0].principal, [target], tlp=Tlp.CLEAR)
        for spec in specs:
            gids = frozenset(group_ids[g] for g in spec.groups)
            sightings.record(
                s,
                members[spec.by].principal,
                target["id"],
                count=spec.count,
                false_positive=spec.false_positive,
                anonymous=spec.anonymous,
                tlp=spec.tlp,
                reach=spec.reach,
                group_ids=sorted(gids),
            )
            reach, groups = (
                (Reach.ORGANISATION, frozenset()) if spec.anonymous else (spec.reach, gids)
            )
            truth.append((spec, Marking(members[spec.by].org_id, spec.tlp, reach, groups)))
        s.commit()
        stored = scores.score_of(s, [target["id"]])[target["id"]]
    everyone = [sp for sp, mk in truth if counts_for_everyone(mk, anonymous=sp.anonymous)]
    assert stored.sightings == sum(sp.count for sp in everyone if not sp.false_positive)
    assert stored.false_positives == sum(sp.count for sp in everyone if sp.false_positive)
    for m in members:
        body = client.get(f"/api/objects/{target['id']}/sightings", headers=m.headers).json()
        counted = [
            sp for sp, mk in truth if may_count_sighting(m.principal, mk, anonymous=sp.anonymous)
        ]
        assert body["summary"]["sightings"] == sum(
            sp.count for sp in counted if not sp.false_positive
        )
        assert body["summary"]["false_positives"] == sum(
            sp.count for sp in counted if sp.false_positive
        )
        assert len(body["sightings"]) == len(counted)
        named = sorted(e["organisation"] for e in body["sightings"] if e["organisation"])
        expected = sorted(
            names[mk.owner_org_id]
            for sp, mk in truth
            if may_count_sighting(m.principal, mk, anonymous=sp.anonymous)
            and may_know_sighter(m.principal, mk, anonymous=sp.anonymous)
        )
        assert named == expected


@settings(max_examples=200, deadline=None)
@given(
    tlp=st.sampled_from(list(Tlp)),
    reach=st.sampled_from(list(Reach)),
    groups=st.frozensets(st.integers(1, 4), max_size=3),
    mine=st.frozensets(st.integers(1, 4), max_size=3),
    own=st.booleans(),
    anonymous=st.booleans(),
)
def test_sighting_rules_in_plain_words(
    tlp: Tlp, reach: Reach, groups: frozenset[int], mine: frozenset[int], own: bool, anonymous: bool
) -> None:
    from minga.policy import (
        Principal,
        Role,
        counts_for_everyone,
        may_count_sighting,
        may_know_sighter,
    )

    p = Principal(user_id=1, org_id=1, role=Role.READER, identity_ref="x", group_ids=mine)
    m = Marking(owner_org_id=1 if own else 2, tlp=tlp, reach=reach, group_ids=groups)
    # An anonymous sighting counts for everyone; who made it is its own organisation's to know.
    if anonymous:
        assert may_count_sighting(p, m, anonymous=True)
        assert counts_for_everyone(m, anonymous=True)
        assert may_know_sighter(p, m, anonymous=True) == own
    else:
        assert may_count_sighting(p, m, anonymous=False) == may_see(p, m)
        assert may_know_sighter(p, m, anonymous=False) == may_see(p, m)
    # What counts for everyone is what every other member of the node may see.
    stranger = Principal(user_id=9, org_id=9, role=Role.READER, identity_ref="y")
    if not anonymous and counts_for_everyone(m, anonymous=False):
        assert may_see(stranger, m)
