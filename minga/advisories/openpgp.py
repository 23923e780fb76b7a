"""The node's OpenPGP key for CSAF signatures (CSAF 2.0 requires OpenPGP `.asc` signatures and a
public key, §7.1.19-20): an Ed25519 key made with PGPy on first use, kept in node settings."""

from __future__ import annotations

import warnings
from functools import lru_cache
from typing import Any

from sqlalchemy.orm import Session

from minga.accounts.models import NodeSetting

KEY_SETTING = "csaf_openpgp_key"


def _pgpy() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PGPy's import warns about deprecated modules
        import pgpy

    return pgpy


def ensure_key(session: Session, *, name: str, email: str) -> str:
    """The armoured private key, made (and stored) the first time it is asked for."""
    row = session.get(NodeSetting, KEY_SETTING)
    if row is not None:
        return row.value
    pgpy = _pgpy()
    from pgpy.constants import EllipticCurveOID, HashAlgorithm, KeyFlags, PubKeyAlgorithm

    key = pgpy.PGPKey.new(PubKeyAlgorithm.EdDSA, EllipticCurveOID.Ed25519)
    uid = pgpy.PGPUID.new(f"{name} CSAF signing key", email=email)
    key.add_uid(uid, usage={KeyFlags.Sign, KeyFlags.Certify}, hashes=[HashAlgorithm.SHA512])
    armoured = str(key)
    session.add(NodeSetting(key=KEY_SETTING, value=armoured))
    session.flush()
    return armoured


@lru_cache(maxsize=4)
def _key(armoured: str) -> Any:
    key, _ = _pgpy().PGPKey.from_blob(armoured)
    return key


def public_key(armoured: str) -> str:
    return str(_key(armoured).pubkey)


def fingerprint(armoured: str) -> str:
    return str(_key(armoured).fingerprint).replace(" ", "")


@lru_cache(maxsize=512)
def sign(armoured: str, data: bytes) -> str:
    """An armoured detached signature of `data` (cached: a document's bytes change only when
    it gets a new revision)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return str(_key(armoured).sign(data))


def verify(armoured_public: str, data: bytes, signature: str) -> bool:
    pgpy = _pgpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        key, _ = pgpy.PGPKey.from_blob(armoured_public)
        return bool(key.verify(data, pgpy.PGPSignature.from_blob(signature)))
