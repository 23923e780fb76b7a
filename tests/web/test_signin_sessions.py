"""Failed sign-ins are limited per account and per address; people list and end their sessions."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from minga.accounts import websessions
from minga.app import create_app
from minga.settings import Settings
from tests.conftest import add_member
from tests.web.conftest import PASSWORD, csrf_of, enrol, other_client, sign_in


@pytest.fixture
def strict(db_url: str) -> Settings:
    return Settings(
        database_url=db_url,
        ingest_worker_seconds=0,
        signin_max_failures=3,
        signin_max_address_failures=5,
        signin_window_seconds=600,
        secret_key="test key shared by every process of the node",
    )


@pytest.fixture
def two_nodes(strict: Settings, engine: Engine) -> Iterator[tuple[TestClient, TestClient]]:
    """Two app instances (as two worker processes) on one database."""
    with (
        TestClient(create_app(strict, engine=engine)) as one,
        TestClient(create_app(strict, engine=engine)) as two,
    ):
        yield one, two


def _try(client: TestClient, name: str, password: str, lang: str = "en"):
    form = client.get("/signin")
    return client.post(
        "/signin",
        data={"csrf": csrf_of(form.text), "name": name, "password": password},
        headers={"Accept-Language": lang},
        follow_redirects=False,
    )


def test_failures_per_account_are_limited_across_processes_with_retry_after(
    two_nodes: tuple[TestClient, TestClient], sessions: sessionmaker[Session]
):
    one, two = two_nodes
    a = add_member(sessions, "Org A")
    enrol(sessions, a.user_id)
    assert _try(one, "org-a-analyst", "guess one").status_code == 401
    assert _try(two, "org-a-analyst", "guess two").status_code == 401
    assert _try(one, "ORG-A-analyst", "guess three").status_code == 401  # names fold case
    r = _try(two, "org-a-analyst", PASSWORD, lang="es")  # even the right password waits
    assert r.status_code == 429
    assert 0 < int(r.headers["Retry-After"]) <= 600
    assert "Demasiados intentos fallidos. Vuelva a intentarlo en 10 minutos." in r.text


def test_failures_per_address_are_limited_and_success_resets_the_account(
    two_nodes: tuple[TestClient, TestClient], sessions: sessionmaker[Session]
):
    one, _ = two_nodes
    a = add_member(sessions, "Org A")
    assert _try(one, "org-a-analyst", "wrong").status_code == 401
    assert _try(one, "org-a-analyst", "wrong").status_code == 401
    sign_in(one, a.token)  # password and code: the account's count starts again
    one.cookies.clear()
    assert _try(one, "org-a-analyst", "wrong").status_code == 401
    assert _try(one, "org-a-analyst", "wrong").status_code == 401
    # The address has failed 4 times; one more failure on any name reaches its limit of 5.
    assert _try(one, "someone-else", "wrong").status_code == 401
    r = _try(one, "another-name", "wrong")
    assert r.status_code == 429
    assert "Too many failed attempts." in r.text


def test_wrong_codes_count_too(
    two_nodes: tuple[TestClient, TestClient], sessions: sessionmaker[Session]
):
    one, _ = two_nodes
    a = add_member(sessions, "Org A")
    secret = enrol(sessions, a.user_id)
    assert _try(one, "org-a-analyst", PASSWORD).status_code == 303
    form = one.get("/signin/code")
    good = pyotp.TOTP(secret).now()
    wrong = str((int(good) + 500_000) % 1_000_000).zfill(6)
    for _ in range(3):
        r = one.post("/signin/code", data={"csrf": csrf_of(form.text), "code": wrong})
        assert r.status_code == 401
    r = one.post("/signin/code", data={"csrf": csrf_of(form.text), "code": good})
    assert r.status_code == 429
    assert "Retry-After" in r.headers


def test_sessions_are_listed_and_ended_at_once(client: TestClient, sessions: sessionmaker[Session]):
    a = add_member(sessions, "Org A")
    laptop = client
    csrf = sign_in(laptop, a.token)
    phone = other_client(client)
    sign_in(phone, a.token)
    tablet = other_client(client)
    sign_in(tablet, a.token)
    page = laptop.get("/account/sessions", headers={"Accept-Language": "es"})
    assert page.status_code == 200
    assert "Dónde tiene la sesión iniciada" in page.text
    assert page.text.count('action="/account/sessions/') == 4  # 3 sessions + "end all others"
    assert "Cerrar esta sesión (salir)" in page.text
    rows = re.findall(r'<tr data-session="(\d+)"( class="current")?>', page.text)
    assert len(rows) == 3
    this_id = next(int(i) for i, current in rows if current)
    phone_id = max(int(i) for i, current in rows if not current)
    r = laptop.post(
        f"/account/sessions/{phone_id}/end", data={"csrf": csrf}, follow_redirects=False
    )
    assert r.headers["location"] == "/account/sessions?ended=1"
    ended = [c for c in (phone, tablet) if c.get("/", follow_redirects=False).status_code == 303]
    assert len(ended) == 1  # the one ended, at once; the other still works
    r = laptop.post("/account/sessions/end-others", data={"csrf": csrf}, follow_redirects=False)
    assert r.headers["location"] == "/account/sessions?ended=1"
    assert tablet.get("/", follow_redirects=False).status_code == 303
    assert phone.get("/", follow_redirects=False).status_code == 303
    assert laptop.get("/").status_code == 200
    r = laptop.post(f"/account/sessions/{this_id}/end", data={"csrf": csrf}, follow_redirects=False)
    assert r.headers["location"] == "/signin"
    assert laptop.get("/", follow_redirects=False).status_code == 303


def test_nobody_ends_another_persons_session(client: TestClient, sessions: sessionmaker[Session]):
    a = add_member(sessions, "Org A")
    b = add_member(sessions, "Org B")
    sign_in(client, a.token)
    with sessions() as s:
        (a_session,) = websessions.list_sessions(s, a.user_id)
    other = other_client(client)
    csrf_b = sign_in(other, b.token)
    r = other.post(
        f"/account/sessions/{a_session.id}/end", data={"csrf": csrf_b}, follow_redirects=False
    )
    assert r.headers["location"] == "/account/sessions?ended=0"
    assert client.get("/").status_code == 200
    assert "org-a" not in other.get("/account/sessions").text


def test_password_change_checks_the_rules_and_ends_other_sessions(
    client: TestClient, sessions: sessionmaker[Session]
):
    a = add_member(sessions, "Org A")
    csrf = sign_in(client, a.token)
    other = other_client(client)
    sign_in(other, a.token)

    def change(current: str, new: str, repeat: str | None = None):
        return client.post(
            "/account/password",
            data={"csrf": csrf, "current": current, "new": new, "repeat": repeat or new},
            headers={"Accept-Language": "pt"},
        )

    assert "A senha atual não está correta." in change("wrong", "a much longer passphrase").text
    assert "As duas novas senhas são diferentes." in change(PASSWORD, "abc", "abd").text
    assert "use pelo menos 12 caracteres" in change(PASSWORD, "short").text
    assert "uma das senhas mais comuns" in change(PASSWORD, "password1234").text
    assert "não pode conter seu nome de usuário" in change(PASSWORD, "org-a-analyst-2026!").text
    assert other.get("/").status_code == 200  # nothing changed so far
    r = change(PASSWORD, "cafe de altura en tarrazu")
    assert r.status_code == 200
    assert "Senha alterada." in r.text
    assert other.get("/", follow_redirects=False).status_code == 303
    assert client.get("/").status_code == 200
    fresh = other_client(client)
    assert _try(fresh, "org-a-analyst", "cafe de altura en tarrazu").status_code == 303


def test_recovery_codes_are_renewed_with_an_app_code(
    client: TestClient, sessions: sessionmaker[Session]
):
    from minga.accounts import signin
    from minga.accounts.models import Credential

    a = add_member(sessions, "Org A")
    csrf = sign_in(client, a.token)
    with sessions() as s:
        old = signin.new_recovery_codes(s, a.user_id)
        cred = s.get(Credential, a.user_id)
        assert cred is not None and cred.totp_secret is not None
        secret = cred.totp_secret
        s.commit()
    page = client.get("/account/security")
    assert "10 unused recovery codes left." in page.text
    r = client.post("/account/recovery-codes", data={"csrf": csrf, "code": old[0]})
    assert r.status_code == 400  # only the app's code renews them; a recovery code is not used
    code = pyotp.TOTP(secret).at(time.time() + 30)  # the sign-in used this step's code
    r = client.post("/account/recovery-codes", data={"csrf": csrf, "code": code})
    assert r.status_code == 200
    fresh = re.findall(r"<li><code>([a-z0-9-]+)</code></li>", r.text)
    assert len(fresh) == 10 and not set(fresh) & set(old)
    with sessions() as s:
        assert signin.check_second_factor(s, a.user_id, old[1]) is None
        assert signin.check_second_factor(s, a.user_id, fresh[1]) == "recovery"
        s.commit()


def test_a_single_sign_on_person_gets_no_password_from_the_web(
    client: TestClient, sessions: sessionmaker[Session]
):
    from minga.web import auth

    a = add_member(sessions, "Org A")
    with sessions() as s:
        opened = websessions.open_session(
            s, a.user_id, stage="complete", method="oidc", address="", user_agent="", hours=1
        )
        s.commit()
    key = client.app.state.web.key  # type: ignore[attr-defined]
    client.cookies.set(auth.SESSION_COOKIE, auth.issue_cookie(key, opened.key))
    page = client.get("/account/security", headers={"Accept-Language": "es"})
    assert "Usted inicia sesión con inicio de sesión único" in page.text
    assert 'action="/account/password"' not in page.text
    r = client.post(
        "/account/password",
        data={
            "csrf": csrf_of(page.text),
            "new": "una clave nueva y larga",
            "repeat": "una clave nueva y larga",
        },
    )
    assert r.status_code == 400
    from minga.accounts import signin

    with sessions() as s:
        assert not signin.has_password(s, a.user_id)
