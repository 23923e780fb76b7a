"""Fixtures for the web pages: the demo community on both backends, and signing in."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from minga.demo.loader import load

CSRF_RE = re.compile(r'name="csrf" value="([^"]+)"')


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


def sign_in(client: TestClient, token: str) -> str:
    """Sign in through the form; returns the session's CSRF token."""
    form = client.get("/signin")
    r = client.post(
        "/signin",
        data={"csrf": csrf_of(form.text), "token": token, "next": "/"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return csrf_of(client.get("/").text)


def other_client(client: TestClient) -> TestClient:
    """A second browser (its own cookie jar) on the same app."""
    return TestClient(client.app)
