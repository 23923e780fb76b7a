"""Property test: no action the policy denies succeeds, on every write and admin route.

Hypothesis generates organisations (the first runs the node), users of every role in each,
sharing groups, TAXII collections, invitations and objects, then a sequence of (actor, route,
target). The expected answer comes from `policy.may` / `policy.may_see` evaluated on the
generated facts, which the test keeps up to date as allowed actions change them (the truth, not
the database): a denied action answers 403/404 (422 on a web form) and changes nothing stored; an
allowed one succeeds; a target the actor may not know of answers exactly like an unknown id.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session, sessionmaker

from minga.accounts import tokens
from minga.policy import Action, Marking, Principal, Reach, Role, Target, Tlp, may, may_see
from tests.accounts.authority_routes import ROUTES, blank, unknown_like, web_session
from tests.accounts.authority_world import Call, Model, build, snapshot


@pytest.fixture(autouse=True)
def cheap_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tokens stay argon2-hashed and verified, with the smallest parameters: each world issues
    ~15 tokens and argon2's deliberate cost is not what this test measures."""
    monkeypatch.setattr(
        tokens, "_HASHER", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    )


@st.composite
def plans(draw: st.DrawFn) -> dict[str, Any]:
    n_orgs = draw(st.integers(2, 3))
    orgs = st.integers(0, n_orgs - 1)
    groups = draw(
        st.lists(st.tuples(orgs, st.frozensets(orgs, max_size=n_orgs)), min_size=1, max_size=3)
    )
    objects = draw(
        st.lists(
            st.tuples(orgs, st.sampled_from(list(Tlp)), st.sampled_from(list(Reach))),
            min_size=1,
            max_size=4,
        )
    )
    calls = draw(
        st.lists(
            st.builds(
                Call,
                # users are 5 per organisation (admin first); admins act more often
                actor=st.builds(
                    lambda org, role: 5 * org + role,
                    orgs,
                    st.sampled_from([0, 0, 0, 1, 1, 2, 3, 4]),
                ),
                route=st.sampled_from(sorted(ROUTES)),
                target=st.integers(0, 30),
                role=st.sampled_from(list(Role)),
                near=st.booleans(),
            ),
            min_size=20,
            max_size=50,
        )
    )
    return {"n_orgs": n_orgs, "groups": groups, "objects": objects, "calls": calls}


@settings(
    max_examples=15,
    deadline=None,
    # Each example builds a whole world on a real database: shrinking would take many minutes,
    # so a failure is reported as generated (the plan and the failing call are in the message).
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(plan=plans())
def test_no_route_lets_an_action_the_policy_denies_succeed(
    client: TestClient, sessions: sessionmaker[Session], plan: dict[str, Any]
) -> None:
    model: Model = build(sessions, plan, tag=uuid.uuid4().hex[:8])
    for call in plan["calls"]:
        actor = model.users[call.actor]
        if not actor.usable:
            r = client.get("/api/me", headers=actor.headers)
            assert r.status_code == 401, "a disabled account or revoked token still works"
            continue
        route = ROUTES[call.route]
        if call.route.startswith("web "):
            web_session(client, actor)  # the sign-in's own audit entry is not the action's
        with sessions() as s:
            before = snapshot(s)
        outcome = route(client, model, actor, call)
        with sessions() as s:
            after = snapshot(s)
        where = f"{call.route} by {actor.role.value} of org {actor.org} on {call.target}"
        if outcome.hidden:
            again = unknown_like(client, model, actor, call)
            assert again is not None, where
            assert (again.status, again.message) == (outcome.status, blank(outcome.message)), where
        if outcome.noop:
            assert before == after, f"{where} changed what is stored"
        if outcome.allowed:
            assert outcome.status in (200, 201, 303), f"{where}: {outcome.status} {outcome.message}"
        else:
            assert outcome.status in (403, 404, 422), f"{where}: {outcome.status}"
            assert before == after, f"{where} was refused but changed what is stored"


def _p(org: int, role: Role, *, groups: frozenset[int] = frozenset(), user: int = 1) -> Principal:
    return Principal(
        user_id=user,
        org_id=org,
        role=role,
        identity_ref="x",
        group_ids=groups,
        operator_org=org == 1,
    )


@settings(max_examples=300, deadline=None)
@given(
    role=st.sampled_from(list(Role)),
    my_org=st.integers(1, 3),
    target_org=st.one_of(st.none(), st.integers(1, 3)),
    target_user=st.integers(1, 3),
    target_role=st.sampled_from(list(Role)),
    members=st.frozensets(st.integers(1, 3)),
)
def test_authority_rules_in_plain_words(
    role: Role,
    my_org: int,
    target_org: int | None,
    target_user: int,
    target_role: Role,
    members: frozenset[int],
) -> None:
    """The rule as the README states it, against `may` (org 1 runs the node)."""
    p = _p(my_org, role)
    own = target_org == my_org
    operator = role is Role.ADMIN and my_org == 1
    account = Target(org_id=target_org, user_id=target_user, role=target_role)
    group = Target(org_id=target_org, member_org_ids=members)
    assert may(p, Action.MANAGE_ORGS) == operator
    assert may(p, Action.MANAGE_PEERS) == operator
    assert may(p, Action.MANAGE_PEERS, Target(org_id=None)) == operator
    # An account of another node's organisation publishes nothing through ordinary paths.
    remote = Principal(user_id=1, org_id=my_org, role=role, identity_ref="x", remote=True)
    assert not may(remote, Action.PUBLISH) and not may(remote, Action.SHARE_WITH_GROUP, group)
    assert may(remote, Action.READ) == may(p, Action.READ)  # reading is not widened or cut
    assert may(p, Action.MANAGE_USERS, account) == (role is Role.ADMIN and own)
    assert may(p, Action.DISABLE_USER, account) == (role is Role.ADMIN and own and target_user != 1)
    assert may(p, Action.ISSUE_TOKEN, account) == (
        target_user == 1 or (role is Role.ADMIN and own and target_role is Role.MACHINE)
    )
    assert may(p, Action.INVITE, account) == (
        role is Role.ADMIN and (own or (operator and target_role is Role.ADMIN))
    )
    managers = (Role.ADMIN, Role.COORDINATOR)
    assert may(p, Action.MANAGE_GROUPS, group) == (role in managers and own)
    assert may(p, Action.LEAVE_GROUP, group) == (role in managers and not own and my_org in members)
    assert may(p, Action.SHARE_WITH_GROUP, group) == (role is not Role.READER and my_org in members)
    assert may(p, Action.MANAGE_COLLECTIONS, Target(org_id=target_org)) == (
        role in managers and (own or (target_org is None and my_org == 1))
    )
    # Authority never widens what is seen: an admin sees another org's RED like anyone else.
    red = Marking(owner_org_id=2, tlp=Tlp.RED, reach=Reach.COMMUNITY)
    assert may_see(p, red) == (my_org == 2)
