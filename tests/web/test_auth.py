"""Sign-in, session cookie, CSRF, sign-out and revocation."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from minga.accounts import service as accounts
from minga.web import auth
from tests.conftest import add_member
from tests.web.conftest import csrf_of, other_client, sign_in


def test_pages_redirect_to_sign_in(client: TestClient):
    r = client.get("/objects?q=x", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/signin?next=%2Fobjects%3Fq%3Dx"


def test_sign_in_sets_httponly_samesite_cookie(client: TestClient, sessions: sessionmaker[Session]):
    a = add_member(sessions, "Org A")
    form = client.get("/signin")
    r = client.post(
        "/signin",
        data={"csrf": csrf_of(form.text), "token": a.token, "next": "/objects"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert r.headers["location"] == "/objects"
    cookie = next(
        c for c in r.headers.get_list("set-cookie") if c.startswith(auth.SESSION_COOKIE + "=")
    )
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Secure" not in cookie  # plain http in tests; set when the request is https
    assert a.token.split("_", 2)[2] not in cookie  # the secret never leaves the server
    assert client.get("/").status_code == 200


def test_bad_token_is_refused_with_a_sentence(client: TestClient):
    form = client.get("/signin", headers={"Accept-Language": "es"})
    r = client.post(
        "/signin",
        data={"csrf": csrf_of(form.text), "token": "mg_000000000000_nope"},
        headers={"Accept-Language": "es"},
    )
    assert r.status_code == 401
    assert "No se aceptó este token" in r.text


def test_sign_in_form_needs_its_csrf_token(client: TestClient, sessions: sessionmaker[Session]):
    a = add_member(sessions, "Org A")
    client.get("/signin")
    r = client.post("/signin", data={"csrf": "forged", "token": a.token})
    assert r.status_code == 403
    assert client.cookies.get(auth.SESSION_COOKIE) is None


def test_post_without_csrf_is_refused(client: TestClient, sessions: sessionmaker[Session]):
    a = add_member(sessions, "Org A")
    sign_in(client, a.token)
    r = client.post("/publish/indicator", data={"kind": "ipv4", "value": "203.0.113.9"})
    assert r.status_code == 403
    assert "did not come from this site" in r.text


def test_csrf_token_of_another_session_is_refused(
    client: TestClient, sessions: sessionmaker[Session]
):
    a = add_member(sessions, "Org A")
    b = add_member(sessions, "Org B")
    sign_in(client, a.token)
    other = other_client(client)
    csrf_b = sign_in(other, b.token)
    r = client.post("/publish/indicator", data={"csrf": csrf_b, "kind": "ipv4", "value": "1.2.3.4"})
    assert r.status_code == 403


def test_revoking_the_token_ends_the_session_at_once(
    client: TestClient, sessions: sessionmaker[Session]
):
    a = add_member(sessions, "Org A")
    sign_in(client, a.token)
    assert client.get("/objects").status_code == 200
    with sessions() as s:
        accounts.revoke_token(s, None, a.token.split("_")[1])
        s.commit()
    r = client.get("/objects", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/signin")


def test_disabling_the_user_ends_the_session(client: TestClient, sessions: sessionmaker[Session]):
    a = add_member(sessions, "Org A")
    sign_in(client, a.token)
    with sessions() as s:
        accounts.set_user_active(s, None, a.user_id, False)
        s.commit()
    assert client.get("/", follow_redirects=False).status_code == 303


def test_sign_out_clears_the_cookie(client: TestClient, sessions: sessionmaker[Session]):
    a = add_member(sessions, "Org A")
    csrf = sign_in(client, a.token)
    r = client.post("/signout", data={"csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/signin"
    assert client.cookies.get(auth.SESSION_COOKIE) is None
    assert client.get("/", follow_redirects=False).status_code == 303


def test_next_only_goes_to_local_paths(client: TestClient, sessions: sessionmaker[Session]):
    a = add_member(sessions, "Org A")
    form = client.get("/signin")
    r = client.post(
        "/signin",
        data={"csrf": csrf_of(form.text), "token": a.token, "next": "//evil.example/x"},
        follow_redirects=False,
    )
    assert r.headers["location"] == "/"


def test_cookie_signature_and_age_are_checked():
    key = b"k" * 32
    cookie = auth.issue_cookie(key, 7, "abcdefabcdef", now=1_000_000)
    assert auth.read_cookie(key, cookie, now=1_000_010) == auth.WebSession(
        7, "abcdefabcdef", 1_000_000, cookie
    )
    assert auth.read_cookie(key, cookie, now=1_000_000 + auth.MAX_AGE + 1) is None
    assert auth.read_cookie(b"x" * 32, cookie, now=1_000_010) is None
    assert auth.read_cookie(key, cookie.replace("7.", "8.", 1), now=1_000_010) is None
    assert auth.read_cookie(key, "garbage", now=1_000_010) is None


def test_key_file_next_to_the_sqlite_database_is_kept(tmp_path):
    from minga.settings import Settings

    settings = Settings(database_url=f"sqlite:///{tmp_path / 'node.db'}")
    first = auth.signing_key(settings)
    assert auth.signing_key(settings) == first
    key_file = tmp_path / "node.db.web-key"
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    assert auth.signing_key(Settings(database_url=settings.database_url, secret_key="s")) != first
