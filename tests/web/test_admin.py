"""Admin pages: organisations, users, tokens, sharing groups; the service decides who may."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from minga.accounts import service as accounts
from tests.accounts.people import add_user
from tests.conftest import add_member
from tests.web.conftest import sign_in


def test_admin_pages_render(client: TestClient, sessions: sessionmaker[Session]):
    admin = add_member(sessions, "Org A", role="admin")
    sign_in(client, admin.token)
    for path, heading in [
        ("/admin/organisations", "Organisations"),
        ("/admin/users", "Users"),
        ("/admin/tokens", "API tokens"),
        ("/admin/groups", "Sharing groups"),
    ]:
        r = client.get(path, headers={"Accept-Language": "en"})
        assert r.status_code == 200, path
        assert f"<h1>{heading}</h1>" in r.text


def test_admin_creates_org_user_and_group(client: TestClient, sessions: sessionmaker[Session]):
    admin = add_member(sessions, "Org A", role="admin")
    csrf = sign_in(client, admin.token)
    r = client.post(
        "/admin/organisations",
        data={
            "csrf": csrf,
            "name": "CSIRT-PA",
            "country": "pa",
            "sector": "government",
            "kind": "csirt",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    with sessions() as s:
        org = next(o for o in accounts.list_organisations(s) if o.name == "CSIRT-PA")
    assert org.country == "PA"
    # Changed by the authority rule: an admin adds users to its own organisation only (this
    # test used to add luis.perez to CSIRT-PA); the other organisation is refused.
    r = client.post(
        "/admin/users",
        data={"csrf": csrf, "name": "intruso", "role": "analyst", "org_id": str(org.id)},
    )
    assert r.status_code == 422 and "your own organisation only" in r.text
    r = client.post(
        "/admin/users",
        data={"csrf": csrf, "name": "luis.perez", "role": "analyst", "org_id": str(admin.org_id)},
        follow_redirects=False,
    )
    assert r.status_code == 303
    r = client.post(
        "/admin/groups",
        data={"csrf": csrf, "name": "Istmo", "member": [str(org.id)]},
        follow_redirects=False,
    )
    assert r.status_code == 303
    with sessions() as s:
        user = accounts.find_user(s, "luis.perez")
        group = next(g for g in accounts.list_groups(s) if g.name == "Istmo")
    assert (user.org_id, user.role) == (admin.org_id, "analyst")
    assert group.member_org_ids == tuple(sorted((admin.org_id, org.id)))


def test_bad_admin_input_shows_the_reason(client: TestClient, sessions: sessionmaker[Session]):
    admin = add_member(sessions, "Org A", role="admin")
    csrf = sign_in(client, admin.token)
    r = client.post(
        "/admin/organisations",
        data={"csrf": csrf, "name": "X", "country": "Costa Rica", "sector": "gov", "kind": "csirt"},
        headers={"Accept-Language": "es"},
    )
    assert r.status_code == 422
    assert "El nodo rechazó este cambio:" in r.text
    assert "country must be an ISO 3166-1 alpha-2 code" in r.text


def test_analyst_cannot_manage_accounts(client: TestClient, sessions: sessionmaker[Session]):
    analyst = add_member(sessions, "Org A")
    csrf = sign_in(client, analyst.token)
    page = client.get("/admin/users")
    assert '/admin/users" class="panel"' not in page.text  # no add-user form
    r = client.post(
        "/admin/users",
        data={"csrf": csrf, "name": "intruso", "role": "admin", "org_id": str(analyst.org_id)},
    )
    assert r.status_code == 422  # the service's refusal, shown on the page
    assert "may not manage users" in r.text
    with sessions() as s:
        assert [u.name for u in accounts.list_users(s)] == ["org-a-analyst"]


def test_tokens_issue_once_and_revoke(client: TestClient, sessions: sessionmaker[Session]):
    member = add_member(sessions, "Org A")
    csrf = sign_in(client, member.token)
    r = client.post("/admin/tokens", data={"csrf": csrf, "label": "laptop", "expires_days": "30"})
    assert r.status_code == 201
    token = re.search(r'id="issued" readonly value="(mg_[^"]+)"', r.text)
    assert token is not None
    public_id = token.group(1).split("_")[1]
    listing = client.get("/admin/tokens")
    assert token.group(1) not in listing.text  # shown once only
    assert f"<code>{public_id}</code>" in listing.text
    r = client.post(
        f"/admin/tokens/{public_id}/revoke", data={"csrf": csrf}, follow_redirects=False
    )
    assert r.status_code == 303
    with sessions() as s:
        revoked = [t for t in accounts.list_tokens(s, None, member.user_id) if t.revoked_at]
    assert [t.public_id for t in revoked] == [public_id]


def test_disable_user(client: TestClient, sessions: sessionmaker[Session]):
    # Changed by the authority rule: the disabled user is now of the admin's own organisation;
    # another organisation's user and the admin itself are refused.
    admin = add_member(sessions, "Org A", role="admin")
    colleague = add_user(sessions, admin.org_id, "org-a-colleague", "analyst")
    other = add_member(sessions, "Org B")
    csrf = sign_in(client, admin.token)
    r = client.post(
        f"/admin/users/{colleague.user_id}/active",
        data={"csrf": csrf, "active": "0"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    for refused in (other.user_id, admin.user_id):
        r = client.post(f"/admin/users/{refused}/active", data={"csrf": csrf, "active": "0"})
        assert r.status_code in (403, 404)
    with sessions() as s:
        assert accounts.get_user(s, colleague.user_id).active is False
        assert accounts.get_user(s, other.user_id).active is True
        assert accounts.get_user(s, admin.user_id).active is True
