"""The node's identity: an Ed25519 key pair (PyNaCl), made by `minga init`, kept in node settings.

The fingerprint is the SHA-256 of the raw 32-byte public key, 64 hex digits; people compare it
by phone when two CSIRTs connect, so `display_fingerprint` groups it in blocks of four, and
`parse_fingerprint` accepts it back with or without spaces, colons or a `SHA256:` prefix.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache

from nacl.signing import SigningKey, VerifyKey
from sqlalchemy.orm import Session

from minga.accounts.models import NodeSetting
from minga.errors import InvalidInput

SEED_KEY = "node_signing_seed"
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True, slots=True)
class NodeIdentity:
    name: str
    url: str
    signing_key: SigningKey

    @property
    def public_key(self) -> bytes:
        return bytes(self.signing_key.verify_key)

    @property
    def public_key_b64(self) -> str:
        return base64.b64encode(self.public_key).decode()

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.public_key)


@lru_cache(maxsize=1024)  # asked for every version signed or verified
def fingerprint(public_key: bytes) -> str:
    """SHA-256 of a raw Ed25519 public key, 64 lower-case hex digits."""
    return hashlib.sha256(public_key).hexdigest()


def display_fingerprint(fp: str) -> str:
    """`ab12 cd34 …`: sixteen blocks of four, easy to read out on the phone."""
    return " ".join(fp[i : i + 4] for i in range(0, len(fp), 4))


def parse_fingerprint(text: str) -> str:
    """A fingerprint as typed (spaces, colons, `SHA256:` prefix allowed) → 64 hex digits."""
    value = text.strip().lower().removeprefix("sha256:")
    value = re.sub(r"[\s:\-]", "", value)
    if not _HEX64.match(value):
        raise InvalidInput(
            "a key fingerprint is 64 hexadecimal digits (as `minga node show` prints it)"
        )
    return value


def decode_public_key(b64: str) -> bytes:
    """A base64 raw Ed25519 public key → its 32 bytes, or a clear error."""
    try:
        raw = base64.b64decode(b64, validate=True)
        VerifyKey(raw)
    except Exception:  # binascii.Error, nacl's ValueError/TypeError: all mean "not a key"
        raise InvalidInput("the public key is not a base64 Ed25519 key") from None
    if len(raw) != 32:
        raise InvalidInput("the public key is not a base64 Ed25519 key")
    return raw


def ensure_key(session: Session) -> SigningKey:
    """The node's signing key, made (and stored) the first time it is asked for."""
    row = session.get(NodeSetting, SEED_KEY)
    if row is not None:
        return SigningKey(base64.b64decode(row.value))
    key = SigningKey.generate()
    session.add(NodeSetting(key=SEED_KEY, value=base64.b64encode(bytes(key)).decode()))
    session.flush()
    return key


def node_identity(session: Session, *, name: str, url: str) -> NodeIdentity:
    """This node: its name and URL (from settings) and its key (from node settings)."""
    return NodeIdentity(name=name, url=url.rstrip("/"), signing_key=ensure_key(session))
