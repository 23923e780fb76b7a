"""Web sign-in: password then TOTP code, server-side sessions, CSRF, sign-out, ending sessions."""

from __future__ import annotations

import pyotp
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from minga.accounts import service as accounts
from minga.accounts.models import WebSession
from minga.web import auth
from tests.conftest import add_member
from tests.web.conftest import PASSWORD, csrf_of, enrol, other_client, sign_in


def _password_step(client: TestClient, name: str, password: str, **headers: str):
    form = client.get("/signin", headers=headers)
    return client.post(
        "/signin",
        data={"csrf": csrf_of(form.text), "name": name, "password": password, "next": "/objects"},
        headers=headers,
        follow_redirects=False,
    )


def _code_step(client: TestClient, code: str, **headers: str):
    form = client.get("/signin/code", headers=headers)
    return client.post(
        "/signin/code",
        data={"csrf": csrf_of(form.text), "code": code, "next": "/objects"},
        headers=headers,
        follow_redirects=False,
    )


def test_pages_redirect_to_sign_in(client: TestClient):
    r = client.get("/objects?q=x", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/signin?next=%2Fobjects%3Fq%3Dx"


def test_password_then_code_signs_in_with_a_new_httponly_cookie(
    client: TestClient, sessions: sessionmaker[Session]
):
    a = add_member(sessions, "Org A")
    secret = enrol(sessions, a.user_id)
    r = _password_step(client, "org-a-analyst", PASSWORD)
    assert r.status_code == 303
    assert r.headers["location"] == "/signin/code?next=%2Fobjects"
    half = client.cookies.get(auth.SESSION_COOKIE)
    assert half
    early = other_client(client)  # the password alone opens no page
    early.cookies.set(auth.SESSION_COOKIE, half)
    assert early.get("/objects", follow_redirects=False).status_code == 303
    r = _code_step(client, pyotp.TOTP(secret).now())
    assert r.status_code == 303
    assert r.headers["location"] == "/objects"
    cookie = next(
        c for c in r.headers.get_list("set-cookie") if c.startswith(auth.SESSION_COOKIE + "=")
    )
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Secure" not in cookie  # plain http in tests; set when the request is https
    assert PASSWORD.split()[0] not in cookie
    full = client.cookies.get(auth.SESSION_COOKIE)
    assert full and full != half  # a new key after the second factor: no fixation
    assert client.get("/objects").status_code == 200
    stale = other_client(client)
    stale.cookies.set(auth.SESSION_COOKIE, half)
    assert stale.get("/objects", follow_redirects=False).status_code == 303
    with sessions() as s:
        rows = list(s.scalars(select(WebSession)))
    assert len(rows) == 1 and rows[0].stage == "complete" and rows[0].method == "password"
    assert full.split(".")[0] not in rows[0].key_hash  # only the hash is stored


def test_bad_password_and_unknown_user_get_the_same_sentence(
    client: TestClient, sessions: sessionmaker[Session]
):
    a = add_member(sessions, "Org A")
    enrol(sessions, a.user_id)
    wrong = _password_step(client, "org-a-analyst", "not the password", **{"Accept-Language": "es"})
    unknown = _password_step(client, "nobody", PASSWORD, **{"Accept-Language": "es"})
    for r in (wrong, unknown):
        assert r.status_code == 401
        assert "No se aceptaron este nombre de usuario y esta contraseña." in r.text
    assert client.cookies.get(auth.SESSION_COOKIE) is None


def test_an_api_token_no_longer_opens_the_web_ui_but_still_opens_the_api(
    client: TestClient, sessions: sessionmaker[Session]
):
    a = add_member(sessions, "Org A")
    assert _password_step(client, "org-a-analyst", a.token).status_code == 401
    assert 'name="token"' not in client.get("/signin").text
    me = client.get("/api/me", headers=a.headers)
    assert me.status_code == 200
    assert me.json()["user"]["id"] == a.user_id


def test_a_wrong_code_is_refused_and_a_used_code_cannot_be_replayed(
    client: TestClient, sessions: sessionmaker[Session]
):
    a = add_member(sessions, "Org A")
    secret = enrol(sessions, a.user_id)
    code = pyotp.TOTP(secret).now()
    _password_step(client, "org-a-analyst", PASSWORD)
    wrong = str((int(code) + 1) % 1_000_000).zfill(6)
    r = _code_step(client, wrong, **{"Accept-Language": "pt"})
    assert r.status_code == 401
    assert "Este código não foi aceito." in r.text
    assert _code_step(client, code).status_code == 303
    thief = other_client(client)
    assert _password_step(thief, "org-a-analyst", PASSWORD).status_code == 303
    r = _code_step(thief, code)
    assert r.status_code == 401  # the same code, seconds later, in another browser


def test_first_sign_in_enrols_the_app_and_shows_recovery_codes_once(
    client: TestClient, sessions: sessionmaker[Session]
):
    from minga.accounts import signin

    a = add_member(sessions, "Org A")
    with sessions() as s:
        signin.set_password(s, a.user_id, PASSWORD)
        s.commit()
    r = _password_step(client, "org-a-analyst", PASSWORD)
    assert r.headers["location"] == "/signin/enrol?next=%2Fobjects"
    page = client.get("/signin/enrol", headers={"Accept-Language": "es"})
    assert "Configure su aplicación de autenticación" in page.text
    uri = page.text.split('id="uri" readonly value="', 1)[1].split('"', 1)[0]
    assert uri.startswith("otpauth://totp/") and "org-a-analyst" in uri
    secret = pyotp.parse_uri(uri.replace("&amp;", "&")).secret
    shown = page.text.split('id="secret" readonly value="', 1)[1].split('"', 1)[0]
    assert shown.replace(" ", "") == secret
    bad = client.post(
        "/signin/enrol", data={"csrf": csrf_of(page.text), "code": "000000", "next": "/"}
    )
    assert bad.status_code == 400
    assert "This code was not accepted." in bad.text
    done = client.post(
        "/signin/enrol",
        data={"csrf": csrf_of(page.text), "code": pyotp.TOTP(secret).now(), "next": "/"},
    )
    assert done.status_code == 200
    codes = [c.split("</code>")[0] for c in done.text.split("<li><code>")[1:]]
    assert len(codes) == 10 and len(set(codes)) == 10
    assert client.get("/").status_code == 200
    # A recovery code replaces the app code once.
    later = other_client(client)
    _password_step(later, "org-a-analyst", PASSWORD)
    assert _code_step(later, codes[3].upper()).status_code == 303
    again = other_client(client)
    _password_step(again, "org-a-analyst", PASSWORD)
    assert _code_step(again, codes[3]).status_code == 401


def test_sign_in_form_needs_its_csrf_token(client: TestClient, sessions: sessionmaker[Session]):
    a = add_member(sessions, "Org A")
    enrol(sessions, a.user_id)
    client.get("/signin")
    r = client.post(
        "/signin", data={"csrf": "forged", "name": "org-a-analyst", "password": PASSWORD}
    )
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


def test_disabling_the_user_ends_the_session(client: TestClient, sessions: sessionmaker[Session]):
    a = add_member(sessions, "Org A")
    sign_in(client, a.token)
    with sessions() as s:
        accounts.set_user_active(s, None, a.user_id, False)
        s.commit()
    assert client.get("/", follow_redirects=False).status_code == 303


def test_sign_out_ends_the_session_on_the_server(
    client: TestClient, sessions: sessionmaker[Session]
):
    a = add_member(sessions, "Org A")
    csrf = sign_in(client, a.token)
    copied = client.cookies.get(auth.SESSION_COOKIE)
    r = client.post("/signout", data={"csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/signin"
    assert client.cookies.get(auth.SESSION_COOKIE) is None
    assert client.get("/", follow_redirects=False).status_code == 303
    replay = other_client(client)
    replay.cookies.set(auth.SESSION_COOKIE, copied or "")
    assert replay.get("/", follow_redirects=False).status_code == 303


def test_next_only_goes_to_local_paths(client: TestClient, sessions: sessionmaker[Session]):
    a = add_member(sessions, "Org A")
    enrol(sessions, a.user_id)
    form = client.get("/signin")
    r = client.post(
        "/signin",
        data={
            "csrf": csrf_of(form.text),
            "name": "org-a-analyst",
            "password": PASSWORD,
            "next": "//evil.example/x",
        },
        follow_redirects=False,
    )
    assert r.headers["location"] == "/signin/code?next=%2F"


def test_cookie_signature_is_checked():
    key = b"k" * 32
    cookie = auth.issue_cookie(key, "abc123")
    assert auth.read_cookie(key, cookie) == auth.WebSession("abc123", cookie)
    assert auth.read_cookie(b"x" * 32, cookie) is None
    assert auth.read_cookie(key, cookie.replace("abc", "abd", 1)) is None
    assert auth.read_cookie(key, "garbage") is None
    assert auth.read_cookie(key, "a.b.c") is None
    sealed = auth.seal(key, "oidc", {"state": "s"})
    opened = auth.unseal(key, "oidc", sealed, 60)
    assert opened is not None and opened["state"] == "s"
    assert auth.unseal(key, "other", sealed, 60) is None
    tampered = sealed[:-1] + ("1" if sealed.endswith("0") else "0")  # a changed MAC, always
    assert auth.unseal(key, "oidc", tampered, 60) is None


def test_key_file_next_to_the_sqlite_database_is_kept(tmp_path):
    from minga.settings import Settings

    settings = Settings(database_url=f"sqlite:///{tmp_path / 'node.db'}")
    first = auth.signing_key(settings)
    assert auth.signing_key(settings) == first
    key_file = tmp_path / "node.db.web-key"
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    assert auth.signing_key(Settings(database_url=settings.database_url, secret_key="s")) != first
