"""Sign-in through an OpenID Connect provider (a real local one: tests/web/oidc_provider.py)."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from minga.accounts import service as accounts
from minga.accounts.models import OidcLink, User, WebSession
from minga.app import create_app
from minga.settings import Settings
from minga.web import auth
from tests.conftest import add_member
from tests.web.oidc_provider import CLIENT_ID, CLIENT_SECRET, Provider, running_provider


@pytest.fixture
def provider() -> Iterator[Provider]:
    with running_provider() as running:
        yield running


@pytest.fixture
def node(db_url: str, engine: Engine, provider: Provider) -> Iterator[TestClient]:
    settings = Settings(
        database_url=db_url,
        ingest_worker_seconds=0,
        oidc_issuer=provider.issuer,
        oidc_client_id=CLIENT_ID,
        oidc_client_secret=CLIENT_SECRET,
        oidc_label="CSIRT Americas ID",
    )
    with TestClient(create_app(settings, engine=engine)) as client:
        yield client


def _round_trip(client: TestClient, next_path: str = "/objects") -> httpx.Response:
    """Browser -> node -> provider (consents at once) -> node's callback."""
    start = client.get(f"/signin/oidc?next={next_path}", follow_redirects=False)
    assert start.status_code == 303
    authorize = start.headers["location"]
    query = parse_qs(urlsplit(authorize).query)
    assert query["code_challenge_method"] == ["S256"]
    assert query["state"][0] and query["nonce"][0] and query["code_challenge"][0]
    back = httpx.get(authorize, follow_redirects=False)
    assert back.status_code == 302, back.text
    callback = urlsplit(back.headers["location"])
    assert callback.path == "/signin/oidc/callback"
    return client.get(f"{callback.path}?{callback.query}", follow_redirects=False)


def _people(sessions: sessionmaker[Session]) -> int:
    with sessions() as s:
        return int(s.scalar(select(func.count()).select_from(User)) or 0)


def test_sign_in_page_offers_the_provider(node: TestClient):
    page = node.get("/signin", headers={"Accept-Language": "es"})
    assert "Iniciar sesión con CSIRT Americas ID" in page.text


def test_a_linked_person_signs_in_and_stays_linked_by_subject(
    node: TestClient, provider: Provider, sessions: sessionmaker[Session]
):
    a = add_member(sessions, "Org A")
    provider.claims = {"preferred_username": "org-a-analyst"}
    r = _round_trip(node)
    assert r.status_code == 303, r.text
    assert r.headers["location"] == "/objects"
    assert provider.pkce_checked == 1  # the token request carried the right verifier
    assert node.cookies.get(auth.OIDC_COOKIE) is None
    assert node.get("/objects").status_code == 200
    with sessions() as s:
        link = s.scalar(select(OidcLink))
        assert link is not None
        assert (link.issuer, link.subject, link.user_id) == (
            provider.issuer,
            provider.subject,
            a.user_id,
        )
        (row,) = s.scalars(select(WebSession))
        assert row.method == "oidc" and row.stage == "complete"
    # The link is by subject: a later change of the claim still finds the same person.
    provider.claims = {"preferred_username": "renamed-at-the-provider"}
    other = TestClient(node.app)
    assert _round_trip(other).status_code == 303
    assert "org-a-analyst" in other.get("/").text


def test_an_unknown_person_is_refused_and_never_created(
    node: TestClient, provider: Provider, sessions: sessionmaker[Session]
):
    add_member(sessions, "Org A")
    before = _people(sessions)
    provider.claims = {"preferred_username": "stranger"}
    r = _round_trip(node)
    assert r.status_code == 403
    assert "not linked to any Minga user" in r.text
    assert "stranger" in r.text
    assert _people(sessions) == before
    assert node.cookies.get(auth.SESSION_COOKIE) is None
    assert node.get("/", follow_redirects=False).status_code == 303


def test_an_unverified_email_claim_names_nobody(
    db_url: str, engine: Engine, provider: Provider, sessions: sessionmaker[Session]
):
    add_member(sessions, "Org A")
    settings = Settings(
        database_url=db_url,
        ingest_worker_seconds=0,
        oidc_issuer=provider.issuer,
        oidc_client_id=CLIENT_ID,
        oidc_client_secret=CLIENT_SECRET,
        oidc_user_claim="email",
    )
    provider.claims = {"email": "org-a-analyst", "email_verified": False}
    with TestClient(create_app(settings, engine=engine)) as client:
        assert _round_trip(client).status_code == 403
        provider.claims["email_verified"] = True
        assert _round_trip(client).status_code == 303


@pytest.mark.parametrize("tamper", ["nonce", "audience", "issuer", "expired", "signature", "hs256"])
def test_a_bad_id_token_is_refused(
    node: TestClient, provider: Provider, sessions: sessionmaker[Session], tamper: str
):
    add_member(sessions, "Org A")
    provider.claims = {"preferred_username": "org-a-analyst"}
    provider.tamper = tamper
    r = _round_trip(node)
    assert r.status_code == 400
    assert "The single sign-on answer was not valid" in r.text
    assert node.cookies.get(auth.SESSION_COOKIE) is None
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(WebSession)) == 0
        assert s.scalar(select(func.count()).select_from(OidcLink)) == 0


def test_a_callback_for_another_browser_is_refused(
    node: TestClient, provider: Provider, sessions: sessionmaker[Session]
):
    add_member(sessions, "Org A")
    provider.claims = {"preferred_username": "org-a-analyst"}
    start = node.get("/signin/oidc", follow_redirects=False)
    back = httpx.get(start.headers["location"], follow_redirects=False)
    callback = urlsplit(back.headers["location"])
    victim = TestClient(node.app)  # has no flow cookie: a forged login link
    r = victim.get(f"{callback.path}?{callback.query}", follow_redirects=False)
    assert r.status_code == 400
    forged_state = callback.query.replace("state=", "state=x")
    r = node.get(f"{callback.path}?{forged_state}", follow_redirects=False)
    assert r.status_code == 400
    assert node.cookies.get(auth.SESSION_COOKIE) is None


def test_a_disabled_person_cannot_sign_in(
    node: TestClient, provider: Provider, sessions: sessionmaker[Session]
):
    a = add_member(sessions, "Org A")
    provider.claims = {"preferred_username": "org-a-analyst"}
    assert _round_trip(node).status_code == 303
    with sessions() as s:
        accounts.set_user_active(s, None, a.user_id, False)
        s.commit()
    assert node.get("/", follow_redirects=False).status_code == 303
    assert _round_trip(TestClient(node.app)).status_code == 400


def test_provider_unreachable_and_not_configured(client: TestClient, db_url: str, engine: Engine):
    r = client.get("/signin/oidc", follow_redirects=False)
    assert r.status_code == 404
    assert "no single sign-on provider" in r.text
    assert "Sign in with" not in client.get("/signin").text
    with running_provider() as gone:
        closed = gone.issuer
    settings = Settings(
        database_url=db_url, ingest_worker_seconds=0, oidc_issuer=closed, oidc_client_id="x"
    )
    with TestClient(create_app(settings, engine=engine)) as down:
        r = down.get("/signin/oidc", follow_redirects=False, headers={"Accept-Language": "pt"})
        assert r.status_code == 502
        assert "Não foi possível contatar o provedor de login único." in r.text
