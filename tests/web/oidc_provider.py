"""A small OpenID Connect provider for tests: a real HTTP server on 127.0.0.1, random port.

It serves discovery, JWKS, authorize (the person is already signed in at the provider and
consents at once) and token (client secret, single-use codes, PKCE S256), and signs id_tokens
with its RSA key (joserfc). `tamper` makes the next id_tokens wrong in one way, to check that
the node refuses them.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from joserfc import jwt
from joserfc.jwk import RSAKey

CLIENT_ID = "minga-test-node"
CLIENT_SECRET = "provider-side secret of the test node"


class Provider:
    def __init__(self) -> None:
        self.key = RSAKey.generate_key(2048, parameters={"kid": "test-1", "use": "sig"})
        self.other_key = RSAKey.generate_key(2048, parameters={"kid": "test-1", "use": "sig"})
        self.subject = "5f1c0d3e-provider-subject"
        self.claims: dict[str, Any] = {"preferred_username": "ana.rojas"}
        self.tamper: str | None = None
        self.codes: dict[str, dict[str, str]] = {}
        self.pkce_checked = 0
        self.issuer = ""

    def id_token(self, grant: dict[str, str]) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": self.subject,
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + 300,
            "nonce": grant["nonce"],
            **self.claims,
        }
        key = self.key
        if self.tamper == "nonce":
            claims["nonce"] = "another flow's nonce"
        elif self.tamper == "audience":
            claims["aud"] = "some-other-client"
        elif self.tamper == "issuer":
            claims["iss"] = "http://127.0.0.1:1/evil"
        elif self.tamper == "expired":
            claims["iat"], claims["exp"] = now - 900, now - 600
        elif self.tamper == "signature":
            key = self.other_key  # same key id, another key: the signature cannot verify
        elif self.tamper == "hs256":
            from joserfc.jwk import OctKey

            secret = OctKey.import_key(CLIENT_SECRET.encode())
            return jwt.encode({"alg": "HS256"}, claims, secret)
        return jwt.encode({"alg": "RS256", "kid": "test-1"}, claims, key)


def _handler(provider: Provider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # keep test output quiet
            return

        def _json(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            if url.path == "/.well-known/openid-configuration":
                base = provider.issuer
                self._json(
                    200,
                    {
                        "issuer": base,
                        "authorization_endpoint": base + "/authorize",
                        "token_endpoint": base + "/token",
                        "jwks_uri": base + "/jwks",
                        "response_types_supported": ["code"],
                        "subject_types_supported": ["public"],
                        "id_token_signing_alg_values_supported": ["RS256"],
                        "code_challenge_methods_supported": ["S256"],
                    },
                )
            elif url.path == "/jwks":
                self._json(200, {"keys": [provider.key.as_dict(private=False)]})
            elif url.path == "/authorize":
                self._authorize({k: v[0] for k, v in parse_qs(url.query).items()})
            else:
                self._json(404, {"error": "not_found"})

        def _authorize(self, q: dict[str, str]) -> None:
            if (
                q.get("client_id") != CLIENT_ID
                or q.get("response_type") != "code"
                or "openid" not in q.get("scope", "").split()
                or q.get("code_challenge_method") != "S256"
                or not q.get("code_challenge")
                or not q.get("nonce")
            ):
                self._json(400, {"error": "invalid_request"})
                return
            code = secrets.token_urlsafe(24)
            provider.codes[code] = {
                "redirect_uri": q["redirect_uri"],
                "challenge": q["code_challenge"],
                "nonce": q["nonce"],
            }
            back = q["redirect_uri"] + "?" + urlencode({"code": code, "state": q.get("state", "")})
            self.send_response(302)
            self.send_header("Location", back)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_POST(self) -> None:
            if urlsplit(self.path).path != "/token":
                self._json(404, {"error": "not_found"})
                return
            length = int(self.headers.get("Content-Length", "0"))
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            basic = self.headers.get("Authorization", "").removeprefix("Basic ")
            expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
            if basic != expected:
                self._json(401, {"error": "invalid_client"})
                return
            grant = provider.codes.pop(form.get("code", ""), None)  # a code works once
            if (
                grant is None
                or form.get("grant_type") != "authorization_code"
                or form.get("redirect_uri") != grant["redirect_uri"]
            ):
                self._json(400, {"error": "invalid_grant"})
                return
            verifier = form.get("code_verifier", "")
            digest = hashlib.sha256(verifier.encode()).digest()
            if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != grant["challenge"]:
                self._json(400, {"error": "invalid_grant", "error_description": "PKCE"})
                return
            provider.pkce_checked += 1
            self._json(
                200,
                {
                    "access_token": secrets.token_urlsafe(24),
                    "token_type": "Bearer",
                    "expires_in": 300,
                    "id_token": provider.id_token(grant),
                },
            )

    return Handler


@contextmanager
def running_provider() -> Iterator[Provider]:
    provider = Provider()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(provider))
    provider.issuer = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield provider
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
