"""OpenID Connect relying party: Authorization Code flow with PKCE (Authlib), id_token checks.

The provider's discovery document and keys are fetched from `MINGA_OIDC_ISSUER` and kept for an
hour (the keys are fetched again at once when a token names an unknown key). An id_token must be
signed by one of those keys with an asymmetric algorithm, name this issuer, this client as its
audience, carry the nonce of this flow and not be expired. The subject is then linked to a Minga
user: by an explicit link (`oidc_links`), else by the claim `MINGA_OIDC_USER_CLAIM` naming an
existing user, which links them for next time. Unknown people are refused, never created.
"""

from __future__ import annotations

import hmac
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import requests
from authlib.common.security import generate_token
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy import select
from sqlalchemy.orm import Session

from minga.accounts.models import OidcLink, User
from minga.audit import record
from minga.errors import Conflict
from minga.settings import Settings

ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"]  # never none/HS*
CACHE_SECONDS = 3600
TIMEOUT = 10
LEEWAY = 60


class ProviderError(Exception):
    """The provider could not be reached or answered nonsense."""


class Refused(Exception):
    """The answer is not a valid sign-in (state, code, id_token or a disabled account)."""


class UnknownSubject(Exception):
    """A valid identity that no Minga user is linked to."""

    def __init__(self, subject: str, value: str) -> None:
        super().__init__(subject)
        self.subject = subject
        self.value = value


@dataclass(frozen=True, slots=True)
class ProviderConfig:
    issuer: str
    client_id: str
    client_secret: str
    scopes: str
    user_claim: str


def enabled(settings: Settings) -> bool:
    return bool(settings.oidc_issuer and settings.oidc_client_id)


def config_of(settings: Settings) -> ProviderConfig:
    return ProviderConfig(
        settings.oidc_issuer.rstrip("/"),
        settings.oidc_client_id,
        settings.oidc_client_secret,
        settings.oidc_scopes,
        settings.oidc_user_claim,
    )


_cache: dict[str, tuple[float, dict[str, Any], KeySet]] = {}
_lock = threading.Lock()


def _get_json(url: str) -> Any:
    try:
        response = requests.get(url, timeout=TIMEOUT)
        response.raise_for_status()
        return response.json()
    except (requests.RequestException, ValueError) as exc:
        raise ProviderError(f"{url}: {exc}") from None


def provider(issuer: str, *, refresh: bool = False) -> tuple[dict[str, Any], KeySet]:
    """The provider's metadata and signing keys (cached)."""
    with _lock:
        cached = _cache.get(issuer)
    if cached is not None and not refresh and time.monotonic() - cached[0] < CACHE_SECONDS:
        return cached[1], cached[2]
    meta = _get_json(issuer + "/.well-known/openid-configuration")
    needed = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")
    if not isinstance(meta, dict) or any(not isinstance(meta.get(k), str) for k in needed):
        raise ProviderError("the discovery document lacks endpoints")
    if meta["issuer"].rstrip("/") != issuer:  # OIDC Discovery 1.0, section 4.3
        raise ProviderError(f"the discovery document names another issuer: {meta['issuer']}")
    try:
        keys = KeySet.import_key_set(_get_json(meta["jwks_uri"]))
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise ProviderError(f"the provider's keys cannot be read: {exc}") from None
    with _lock:
        _cache[issuer] = (time.monotonic(), meta, keys)
    return meta, keys


@dataclass(frozen=True, slots=True)
class Flow:
    url: str
    state: str
    nonce: str
    verifier: str

    def secrets(self) -> dict[str, str]:
        return {"state": self.state, "nonce": self.nonce, "verifier": self.verifier}


def _client(config: ProviderConfig, redirect_uri: str) -> OAuth2Session:
    return OAuth2Session(
        config.client_id,
        config.client_secret or None,
        token_endpoint_auth_method="client_secret_basic" if config.client_secret else "none",
        scope=config.scopes,
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
    )


def begin(config: ProviderConfig, redirect_uri: str) -> Flow:
    """Where to send the browser, with the state, nonce and PKCE verifier to keep."""
    meta, _ = provider(config.issuer)
    state, nonce, verifier = generate_token(32), generate_token(32), generate_token(64)
    url, _ = _client(config, redirect_uri).create_authorization_url(
        meta["authorization_endpoint"], state=state, nonce=nonce, code_verifier=verifier
    )
    return Flow(url, state, nonce, verifier)


def finish(
    config: ProviderConfig, flow: dict[str, Any], params: dict[str, str], redirect_uri: str
) -> dict[str, Any]:
    """The verified id_token claims of a callback, or Refused/ProviderError."""
    if "error" in params:
        raise Refused(f"the provider answered {params['error']}")
    state = params.get("state", "")
    if not state or not hmac.compare_digest(state, str(flow.get("state", ""))):
        raise Refused("the state does not match this browser's sign-in")
    if not params.get("code"):
        raise Refused("no authorization code")
    meta, _ = provider(config.issuer)
    try:
        token = _client(config, redirect_uri).fetch_token(
            meta["token_endpoint"],
            code=params["code"],
            code_verifier=str(flow.get("verifier", "")),
            timeout=TIMEOUT,
        )
    except OAuthError as exc:
        raise Refused(f"the token endpoint refused the code: {exc}") from None
    except (requests.RequestException, ValueError) as exc:
        raise ProviderError(f"the token endpoint failed: {exc}") from None
    id_token = token.get("id_token")
    if not isinstance(id_token, str):
        raise Refused("the token answer has no id_token")
    return verify_id_token(config, id_token, str(flow.get("nonce", "")))


def verify_id_token(config: ProviderConfig, id_token: str, nonce: str) -> dict[str, Any]:
    """Signature, issuer, audience, expiry and nonce of an id_token (OIDC Core 3.1.3.7)."""
    _, keys = provider(config.issuer)
    try:
        try:
            decoded = jwt.decode(id_token, keys, algorithms=ALGORITHMS)
        except (JoseError, ValueError) as exc:
            if "key" not in str(exc).lower():
                raise
            _, keys = provider(config.issuer, refresh=True)  # the provider rotated its keys
            decoded = jwt.decode(id_token, keys, algorithms=ALGORITHMS)
        claims = dict(decoded.claims)
        jwt.JWTClaimsRegistry(
            leeway=LEEWAY,
            iss={"essential": True, "value": config.issuer},
            aud={"essential": True, "value": config.client_id},
            sub={"essential": True},
            exp={"essential": True},
            iat={"essential": True},
            nonce={"essential": True, "value": nonce},
        ).validate(claims)
    except (JoseError, ValueError, TypeError) as exc:
        raise Refused(f"the id_token is not valid: {exc}") from None
    audience = claims.get("aud")
    if isinstance(audience, list) and len(audience) > 1 and claims.get("azp") != config.client_id:
        raise Refused("the id_token was issued to another party (azp)")
    return claims


def user_for(session: Session, config: ProviderConfig, claims: dict[str, Any]) -> User:
    """The Minga user an identity is linked to (linking it on first use by the claim)."""
    subject = str(claims["sub"])
    link = session.scalar(
        select(OidcLink).where(OidcLink.issuer == config.issuer, OidcLink.subject == subject)
    )
    if link is not None:
        user = session.get(User, link.user_id)
    else:
        value = claims.get(config.user_claim)
        if config.user_claim == "email" and claims.get("email_verified") is not True:
            value = None  # an unverified address names nobody
        if not isinstance(value, str) or not value:
            raise UnknownSubject(subject, "")
        user = session.scalar(select(User).where(User.name == value))
        if user is None or user.role == "machine":
            raise UnknownSubject(subject, value)
        link_subject(session, user.id, config.issuer, subject)
    if user is None or not user.active:
        raise Refused("the linked account is disabled")
    return user


def link_subject(session: Session, user_id: int, issuer: str, subject: str) -> None:
    """Link an OIDC identity to a user (the explicit way, or on first sign-in by the claim)."""
    issuer = issuer.rstrip("/")
    taken = session.scalar(
        select(OidcLink.user_id).where(OidcLink.issuer == issuer, OidcLink.subject == subject)
    )
    if taken is not None:
        raise Conflict(f"this identity is already linked to user {taken}")
    session.add(
        OidcLink(
            issuer=issuer,
            subject=subject,
            user_id=user_id,
            created_at=datetime.now(UTC),
        )
    )
    record(session, None, "user.oidc_link", "user", user_id, issuer=issuer, subject=subject)
    session.flush()
