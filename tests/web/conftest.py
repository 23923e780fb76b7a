"""Fixtures for the web pages: the demo community on both backends, and signing in."""

from __future__ import annotations

import re

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from minga.accounts import signin
from minga.accounts.models import ApiToken, Credential
from minga.demo.loader import load

CSRF_RE = re.compile(r'name="csrf" value="([^"]+)"')
PASSWORD = "gallo pinto con natilla 42"


@pytest.fixture
def demo(sessions: sessionmaker[Session]) -> dict[str, str]:
    """The demo community; returns user name -> API token (one user per organisation)."""
    with sessions() as s:
        result = load(s)
        s.commit()
    return {user: token for _, user, token in result.tokens}


def csrf_of(html: str) -> str:
    found = CSRF_RE.search(html)
    assert found is not None, "the page has no CSRF field"
    return found.group(1)


def enrol(sessions: sessionmaker[Session], user_id: int) -> str:
    """Give a person the test password (once) and a fresh TOTP secret; returns the secret.

    A fresh secret per sign-in lets one test sign the same person in twice within 30 s,
    which the replay check would otherwise (rightly) refuse.
    """
    secret = pyotp.random_base32(32)
    with sessions() as s:
        if not signin.has_password(s, user_id):
            signin.set_password(s, user_id, PASSWORD)
        cred = s.get(Credential, user_id)
        assert cred is not None
        cred.totp_secret, cred.totp_last_step = secret, 0
        s.commit()
    return secret


def user_of(sessions: sessionmaker[Session], token: str) -> tuple[int, str]:
    from minga.accounts.models import User

    with sessions() as s:
        row = s.execute(
            select(User.id, User.name)
            .join(ApiToken, ApiToken.user_id == User.id)
            .where(ApiToken.public_id == token.split("_")[1])
        ).one()
    return row[0], row[1]


def sign_in(client: TestClient, token: str) -> str:
    """Sign in, through the password and code forms, as the owner of an API token.

    Returns the session's CSRF token.
    """
    sessions = client.app.state.node.sessions  # type: ignore[attr-defined]
    user_id, name = user_of(sessions, token)
    secret = enrol(sessions, user_id)
    form = client.get("/signin")
    r = client.post(
        "/signin",
        data={"csrf": csrf_of(form.text), "name": name, "password": PASSWORD, "next": "/"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    assert r.headers["location"].startswith("/signin/code")
    r = client.post(
        "/signin/code",
        data={"csrf": csrf_of(form.text), "code": pyotp.TOTP(secret).now(), "next": "/"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return csrf_of(client.get("/").text)


def other_client(client: TestClient) -> TestClient:
    """A second browser (its own cookie jar) on the same app."""
    return TestClient(client.app)
