"""REST and TAXII drivers of the authority property test: one request each, with what the
policy expects on the generated facts."""

from __future__ import annotations

import orjson
from fastapi.testclient import TestClient

from minga.policy import Action, Role, Target, may, may_see
from minga.taxii.models import DEFAULT_COLLECTION_ID
from tests.accounts.authority_world import (
    Call,
    Model,
    Obj,
    Outcome,
    Person,
    Route,
    answer,
    group_of,
    malware_obj,
    pick,
    user_of,
    uuid_for,
)


def create_org(client: TestClient, m: Model, a: Person, c: Call) -> Outcome:
    body = {"name": m.fresh("org"), "country": "PA", "sector": "gov", "kind": "csirt"}
    r = client.post("/api/organisations", json=body, headers=a.headers)
    return answer(r, may(m.principal(a), Action.MANAGE_ORGS))


def create_user(client: TestClient, m: Model, a: Person, c: Call) -> Outcome:
    org = pick(m.orgs, c, lambda o: o == a.org_id)
    body = {"org_id": org, "name": m.fresh("user"), "role": c.role.value}
    r = client.post("/api/users", json=body, headers=a.headers)
    return answer(r, may(m.principal(a), Action.MANAGE_USERS, Target(org_id=org)))


def user_action(path: str, active: bool) -> Route:
    def run(client: TestClient, m: Model, a: Person, c: Call) -> Outcome:
        t = user_of(m, a, c)
        p = m.principal(a)
        hidden = not may(p, Action.VIEW_USER, m.account(t))
        action = Action.MANAGE_USERS if active else Action.DISABLE_USER
        allowed = not hidden and may(p, action, m.account(t))
        r = client.post(f"/api/users/{t.id}/{path}", headers=a.headers)
        if allowed and r.status_code == 200:
            t.active = active
        return answer(r, allowed, hidden)

    return run


def issue_token(client: TestClient, m: Model, a: Person, c: Call) -> Outcome:
    t = user_of(m, a, c)
    p = m.principal(a)
    hidden = not may(p, Action.VIEW_USER, m.account(t))
    allowed = not hidden and t.active and may(p, Action.ISSUE_TOKEN, m.account(t))
    r = client.post("/api/tokens", json={"user_id": t.id}, headers=a.headers)
    return answer(r, allowed, hidden)  # a disabled account gets no token (422), whoever asks


def revoke_token(client: TestClient, m: Model, a: Person, c: Call) -> Outcome:
    t = user_of(m, a, c)
    hidden = not may(m.principal(a), Action.MANAGE_TOKEN, m.account(t))
    r = client.delete(f"/api/tokens/{t.public_id}", headers=a.headers)
    if not hidden and r.status_code == 200:
        t.revoked = True
    return answer(r, not hidden, hidden)


def list_tokens(client: TestClient, m: Model, a: Person, c: Call) -> Outcome:
    r = client.get("/api/tokens", headers=a.headers)
    p = m.principal(a)
    by_id = {u.id: u for u in m.users}
    for tok in r.json():
        holder = by_id.get(tok["user_id"])
        if holder is not None:
            assert may(p, Action.MANAGE_TOKEN, m.account(holder)), "a token was listed"
        else:
            assert p.role is Role.ADMIN or tok["user_id"] == a.id
    return answer(r, True)


def list_users(client: TestClient, m: Model, a: Person, c: Call) -> Outcome:
    org = pick(m.orgs, c, lambda o: o == a.org_id)
    r = client.get(f"/api/users?org_id={org}", headers=a.headers)
    allowed = may(m.principal(a), Action.VIEW_USER, Target(org_id=org))
    assert bool(r.json()) == allowed, "users of an organisation listed to whom may not know them"
    return answer(r, True)


def create_group(client: TestClient, m: Model, a: Person, c: Call) -> Outcome:
    org = pick(m.orgs, c, lambda o: o == a.org_id)
    body = {"name": m.fresh("group"), "member_org_ids": [org]}
    r = client.post("/api/groups", json=body, headers=a.headers)
    allowed = may(m.principal(a), Action.MANAGE_GROUPS, Target(org_id=a.org_id))
    return answer(r, allowed)


def set_members(client: TestClient, m: Model, a: Person, c: Call) -> Outcome:
    g = group_of(m, a, c)
    # The actor tries to put its own organisation in, and to drop everybody else.
    r = client.put(
        f"/api/groups/{g.id}/members", json={"member_org_ids": [a.org_id]}, headers=a.headers
    )
    allowed = may(m.principal(a), Action.MANAGE_GROUPS, m.group_target(g))
    if allowed and r.status_code == 200:
        g.members = {g.owner, a.org}
    return answer(r, allowed)


def leave_group(client: TestClient, m: Model, a: Person, c: Call) -> Outcome:
    g = group_of(m, a, c)
    allowed = may(m.principal(a), Action.LEAVE_GROUP, m.group_target(g))
    r = client.post(f"/api/groups/{g.id}/leave", headers=a.headers)
    if allowed and r.status_code == 200:
        g.members.discard(a.org)
    return answer(r, allowed)


def publish_to_group(client: TestClient, m: Model, a: Person, c: Call) -> Outcome:
    g = group_of(m, a, c)
    p = m.principal(a)
    allowed = may(p, Action.PUBLISH) and may(p, Action.SHARE_WITH_GROUP, m.group_target(g))
    oid = f"malware--{uuid_for(m.tag, 1000 + m.counter)}"
    m.counter += 1
    r = client.post(
        f"/api/objects?group={g.id}&tlp=red", json=malware_obj(oid, "probe"), headers=a.headers
    )
    return answer(r, allowed)


def object_write(kind: str) -> Route:
    def run(client: TestClient, m: Model, a: Person, c: Call) -> Outcome:
        o: Obj = pick(m.objs, c, lambda o: o.owner == a.org)
        p = m.principal(a)
        hidden = o.gone or not may_see(p, m.marking(o))
        allowed = (
            not hidden
            and may(p, Action.PUBLISH)
            and may(p, Action.PUBLISH, Target(org_id=m.orgs[o.owner]))
        )
        if kind == "revoke":
            r = client.post(f"/api/objects/{o.id}/revoke", headers=a.headers)
            if allowed and r.status_code == 200:
                o.revoked = True
        else:
            url = f"/taxii2/api/collections/{DEFAULT_COLLECTION_ID}/objects/{o.id}/"
            r = client.delete(
                url, headers={**a.headers, "Accept": "application/taxii+json;version=2.1"}
            )
            if allowed and r.status_code == 200:
                o.gone = True
        return answer(r, allowed, hidden and not o.gone)

    return run


def create_invitation(client: TestClient, m: Model, a: Person, c: Call) -> Outcome:
    org = pick(m.orgs, c, lambda o: o == a.org_id)
    body = {"org_id": org, "role": c.role.value}
    r = client.post("/api/invitations", json=body, headers=a.headers)
    return answer(r, may(m.principal(a), Action.INVITE, Target(org_id=org, role=c.role)))


def revoke_invitation(client: TestClient, m: Model, a: Person, c: Call) -> Outcome:
    inv_id, org, role = pick(m.invites, c, lambda i: i[1] == a.org)
    hidden = not may(m.principal(a), Action.INVITE, Target(org_id=m.orgs[org], role=role))
    r = client.delete(f"/api/invitations/{inv_id}", headers=a.headers)
    return answer(r, not hidden, hidden)


def list_invitations(client: TestClient, m: Model, a: Person, c: Call) -> Outcome:
    r = client.get("/api/invitations", headers=a.headers)
    p = m.principal(a)
    mine = {
        i for i, org, role in m.invites if may(p, Action.INVITE, Target(m.orgs[org], role=role))
    }
    listed = {i["id"] for i in r.json()}
    assert listed & {i for i, _, _ in m.invites} == mine, "invitations listed beyond the policy"
    return answer(r, True)


def create_collection(client: TestClient, m: Model, a: Person, c: Call) -> Outcome:
    r = client.post("/api/taxii/collections", json={"title": m.fresh("c")}, headers=a.headers)
    allowed = may(m.principal(a), Action.MANAGE_COLLECTIONS, Target(org_id=a.org_id))
    return answer(r, allowed)


def delete_collection(client: TestClient, m: Model, a: Person, c: Call) -> Outcome:
    cid, owner = pick(m.collections, c, lambda x: x[1] == a.org)
    target = Target(org_id=m.orgs[owner] if owner is not None else None)
    gone = cid in m.deleted_collections
    allowed = not gone and may(m.principal(a), Action.MANAGE_COLLECTIONS, target)
    r = client.delete(f"/api/taxii/collections/{cid}", headers=a.headers)
    if allowed and r.status_code == 200:
        m.deleted_collections.add(cid)
    return answer(r, allowed)


def read_audit(client: TestClient, m: Model, a: Person, c: Call) -> Outcome:
    r = client.get("/api/audit?limit=1000", headers=a.headers)
    p = m.principal(a)
    if r.status_code == 200:
        objs = {o.id: o for o in m.objs}
        for e in r.json():
            mine = a.org_id in (e["org_id"], e["subject_org_id"])
            if e["target_type"] == "stix" and e["target_id"] in objs and not mine:
                o = objs[e["target_id"]]
                assert not o.gone and may_see(p, m.marking(o)), "an audit entry leaked an object"
            elif e["target_type"] != "stix":
                operator_sees = p.operator_org and p.role is Role.ADMIN and e["org_id"] is None
                assert mine or (operator_sees and e["subject_org_id"] is None), e
    return answer(r, may(p, Action.READ_AUDIT))


def upload(client: TestClient, m: Model, a: Person, c: Call) -> Outcome:
    oid = f"malware--{uuid_for(m.tag, 2000 + m.counter)}"
    m.counter += 1
    bundle = orjson.dumps({"type": "bundle", "id": f"bundle--{uuid_for(m.tag, 3000)}", "objects": [
        malware_obj(oid, "upload")]})  # fmt: skip
    r = client.post("/api/ingest?filename=b.json", content=bundle, headers=a.headers)
    return answer(r, may(m.principal(a), Action.PUBLISH))


def add_peer(client: TestClient, m: Model, a: Person, c: Call) -> Outcome:
    """A peer at an address nothing answers on: stored unpinned when the operator adds it."""
    import secrets

    body = {
        "name": m.fresh("peer"),
        "url": "http://127.0.0.1:9",
        "fingerprint": secrets.token_hex(32),
        "direction": "both",
        "token_env": "PEER_TOKEN",
    }
    r = client.post("/api/peers", json=body, headers=a.headers)
    return answer(r, may(m.principal(a), Action.MANAGE_PEERS))


def remove_peer(client: TestClient, m: Model, a: Person, c: Call) -> Outcome:
    from minga.federation.peers import list_peers

    with client.app.state.node.sessions() as s:  # type: ignore[attr-defined]
        names = [p.name for p in list_peers(s)]
    name = names[c.target % len(names)] if names else "no-such-peer"
    r = client.delete(f"/api/peers/{name}", headers=a.headers)
    return answer(r, bool(names) and may(m.principal(a), Action.MANAGE_PEERS))
