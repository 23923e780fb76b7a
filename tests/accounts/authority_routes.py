"""Web admin form drivers of the authority property test, and the registry of every route it
drives (REST, TAXII, web) with how to ask the same of an unknown id."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from minga.policy import Action, Target, may
from minga.taxii.models import DEFAULT_COLLECTION_ID
from tests.accounts import authority_rest as rest
from tests.accounts.authority_world import (
    Call,
    Model,
    Outcome,
    Person,
    Route,
    answer,
    group_of,
    pick,
    user_of,
)
from tests.web.conftest import sign_in

CSRF = re.compile(r'name="csrf" value="([^"]+)"')
UNKNOWN = 987654


def web_session(client: TestClient, a: Person) -> TestClient:
    """The person's signed-in browser (signing in is audited, so tests do it before a snapshot)."""
    if a.web is None:
        web = TestClient(client.app)
        sign_in(web, a.token)  # password, then the TOTP code
        csrf = CSRF.search(web.get("/admin/tokens").text)
        assert csrf is not None
        a.web, a.csrf = web, csrf.group(1)
    return a.web


def _form(client: TestClient, a: Person, path: str, **data: Any) -> Any:
    return web_session(client, a).post(path, data={"csrf": a.csrf, **data}, follow_redirects=False)


def web_create_user(client: TestClient, m: Model, a: Person, c: Call) -> Outcome:
    org = pick(m.orgs, c, lambda o: o == a.org_id)
    r = _form(client, a, "/admin/users", name=m.fresh("w"), role=c.role.value, org_id=str(org))
    return answer(r, may(m.principal(a), Action.MANAGE_USERS, Target(org_id=org)))


def web_set_active(client: TestClient, m: Model, a: Person, c: Call) -> Outcome:
    t = user_of(m, a, c)
    p = m.principal(a)
    hidden = not may(p, Action.VIEW_USER, m.account(t))
    allowed = not hidden and may(p, Action.DISABLE_USER, m.account(t))
    r = _form(client, a, f"/admin/users/{t.id}/active", active="0")
    if allowed and r.status_code == 303:
        t.active = False
    return answer(r, allowed, hidden)


def web_issue_token(client: TestClient, m: Model, a: Person, c: Call) -> Outcome:
    t = user_of(m, a, c)
    p = m.principal(a)
    allowed = t.active and may(p, Action.ISSUE_TOKEN, m.account(t))
    r = _form(client, a, "/admin/tokens", user_id=str(t.id))
    return answer(r, allowed and may(p, Action.VIEW_USER, m.account(t)))


def web_revoke_token(client: TestClient, m: Model, a: Person, c: Call) -> Outcome:
    t = user_of(m, a, c)
    hidden = not may(m.principal(a), Action.MANAGE_TOKEN, m.account(t))
    r = _form(client, a, f"/admin/tokens/{t.public_id}/revoke")
    if not hidden and r.status_code == 303:
        t.revoked = True
    return answer(r, not hidden, hidden)


def web_create_org(client: TestClient, m: Model, a: Person, c: Call) -> Outcome:
    fields = {"name": m.fresh("o"), "country": "PA", "sector": "gov", "kind": "csirt"}
    r = _form(client, a, "/admin/organisations", **fields)
    return answer(r, may(m.principal(a), Action.MANAGE_ORGS))


def web_create_group(client: TestClient, m: Model, a: Person, c: Call) -> Outcome:
    r = _form(client, a, "/admin/groups", name=m.fresh("g"), member=[str(pick(m.orgs, c))])
    return answer(r, may(m.principal(a), Action.MANAGE_GROUPS, Target(org_id=a.org_id)))


def web_set_members(client: TestClient, m: Model, a: Person, c: Call) -> Outcome:
    g = group_of(m, a, c)
    allowed = may(m.principal(a), Action.MANAGE_GROUPS, m.group_target(g))
    r = _form(client, a, f"/admin/groups/{g.id}/members", member=[str(a.org_id)])
    if allowed and r.status_code == 303:
        g.members = {g.owner, a.org}
    return answer(r, allowed)


def web_create_invitation(client: TestClient, m: Model, a: Person, c: Call) -> Outcome:
    org = pick(m.orgs, c, lambda o: o == a.org_id)
    r = _form(client, a, "/admin/invitations", org_id=str(org), role=c.role.value)
    return answer(r, may(m.principal(a), Action.INVITE, Target(org_id=org, role=c.role)))


def web_revoke_invitation(client: TestClient, m: Model, a: Person, c: Call) -> Outcome:
    inv_id, org, role = pick(m.invites, c, lambda i: i[1] == a.org)
    hidden = not may(m.principal(a), Action.INVITE, Target(org_id=m.orgs[org], role=role))
    r = _form(client, a, f"/admin/invitations/{inv_id}/revoke")
    return answer(r, not hidden, hidden)


ROUTES: dict[str, Route] = {
    "POST /api/organisations": rest.create_org,
    "POST /api/users": rest.create_user,
    "POST /api/users/{id}/disable": rest.user_action("disable", False),
    "POST /api/users/{id}/enable": rest.user_action("enable", True),
    "GET /api/users": rest.list_users,
    "POST /api/tokens": rest.issue_token,
    "GET /api/tokens": rest.list_tokens,
    "DELETE /api/tokens/{id}": rest.revoke_token,
    "POST /api/groups": rest.create_group,
    "PUT /api/groups/{id}/members": rest.set_members,
    "POST /api/groups/{id}/leave": rest.leave_group,
    "POST /api/objects?group=": rest.publish_to_group,
    "POST /api/objects/{id}/revoke": rest.object_write("revoke"),
    "TAXII DELETE object": rest.object_write("delete"),
    "POST /api/ingest": rest.upload,
    "GET /api/invitations": rest.list_invitations,
    "POST /api/invitations": rest.create_invitation,
    "DELETE /api/invitations/{id}": rest.revoke_invitation,
    "POST /api/taxii/collections": rest.create_collection,
    "DELETE /api/taxii/collections/{id}": rest.delete_collection,
    "GET /api/audit": rest.read_audit,
    "POST /api/peers": rest.add_peer,
    "DELETE /api/peers/{name}": rest.remove_peer,
    "web POST /admin/organisations": web_create_org,
    "web POST /admin/users": web_create_user,
    "web POST /admin/users/{id}/active": web_set_active,
    "web POST /admin/tokens": web_issue_token,
    "web POST /admin/tokens/{id}/revoke": web_revoke_token,
    "web POST /admin/groups": web_create_group,
    "web POST /admin/groups/{id}/members": web_set_members,
    "web POST /admin/invitations": web_create_invitation,
    "web POST /admin/invitations/{id}/revoke": web_revoke_invitation,
}

# Routes whose target may be hidden, and how to ask the same of an unknown id.
_UNKNOWN: dict[str, Callable[[TestClient, Person], Any]] = {
    "POST /api/users/{id}/disable": lambda cl, a: cl.post(
        f"/api/users/{UNKNOWN}/disable", headers=a.headers
    ),
    "POST /api/users/{id}/enable": lambda cl, a: cl.post(
        f"/api/users/{UNKNOWN}/enable", headers=a.headers
    ),
    "POST /api/tokens": lambda cl, a: cl.post(
        "/api/tokens", json={"user_id": UNKNOWN}, headers=a.headers
    ),
    "DELETE /api/tokens/{id}": lambda cl, a: cl.delete(
        "/api/tokens/ffffffffffff", headers=a.headers
    ),
    "DELETE /api/invitations/{id}": lambda cl, a: cl.delete(
        f"/api/invitations/{UNKNOWN}", headers=a.headers
    ),
    "POST /api/objects/{id}/revoke": lambda cl, a: cl.post(
        "/api/objects/malware--00000000-0000-4000-8000-000000000000/revoke", headers=a.headers
    ),
    "TAXII DELETE object": lambda cl, a: cl.delete(
        f"/taxii2/api/collections/{DEFAULT_COLLECTION_ID}/objects/"
        "malware--00000000-0000-4000-8000-000000000000/",
        headers={**a.headers, "Accept": "application/taxii+json;version=2.1"},
    ),
    "web POST /admin/users/{id}/active": lambda cl, a: _form(
        cl, a, f"/admin/users/{UNKNOWN}/active", active="0"
    ),
    "web POST /admin/tokens/{id}/revoke": lambda cl, a: _form(
        cl, a, "/admin/tokens/ffffffffffff/revoke"
    ),
    "web POST /admin/invitations/{id}/revoke": lambda cl, a: _form(
        cl, a, f"/admin/invitations/{UNKNOWN}/revoke"
    ),
}
_IDS = re.compile(r"\b\d+\b|[0-9a-f]{12}|malware--[0-9a-f-]{36}")


def unknown_like(client: TestClient, m: Model, a: Person, c: Call) -> Outcome | None:
    """The same request for an id that does not exist, with ids in the message blanked."""
    ask = _UNKNOWN.get(c.route)
    if ask is None:
        return None
    r = ask(client, a)
    return Outcome(r.status_code, blank(answer(r, False).message), False)


def blank(message: str) -> str:
    return _IDS.sub("ID", message)
