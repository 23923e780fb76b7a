"""Signed provenance of an object version: origin node, hop count and the origin's signature.

Every version that leaves its origin node carries a STIX 2.1 property extension (key
`EXTENSION_ID`) holding the origin node's name, its key fingerprint, the number of hops
travelled so far and an Ed25519 signature of the origin node over the RFC 8785 canonical JSON
(the `rfc8785` package) of `{"object": <the object without that extension>, "origin_node": ...,
"origin_key": ...}`, so neither the content nor who claims to have made it can change. The hop
count is not signed: each hop raises it, and a receiver also knows the direct peer it came from.

`sign_document`/`verify_document` sign any other JSON document the same way (recall receipts,
node-identity objects that vouch for another node's key).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import rfc8785
from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

from minga.errors import InvalidInput
from minga.federation.keys import NodeIdentity, fingerprint

# Fixed id of Minga's provenance extension (its extension-definition object: `definition()`).
EXTENSION_ID = "extension-definition--6c1b7a8e-5b0e-4d8e-9a51-4d2b8f0c7a11"
SIGNATURE_FIELD = "signature"


class SignatureRejected(InvalidInput):
    """A version (or document) whose provenance cannot be trusted; nothing of it is stored."""

    code = "signature_rejected"


@dataclass(frozen=True, slots=True)
class Provenance:
    origin_node: str
    origin_key: str  # fingerprint of the key that signed
    hop_count: int


_I_JSON_INT = 2**53  # RFC 8785 numbers are IEEE doubles: integers beyond this are refused


def _plain(doc: Any) -> bool:
    """Whether RFC 8785 writes `doc` exactly as Python's C JSON encoder does with sorted keys
    and no spaces: ASCII keys (so code-point order is UTF-16 order), no floats (ECMAScript
    number formatting differs), integers a double holds; strings escape the same way."""
    stack = [doc]
    while stack:
        value = stack.pop()
        kind = type(value)
        if kind is str or kind is bool or value is None:
            continue
        if kind is int:
            if -_I_JSON_INT < value < _I_JSON_INT:
                continue
            return False
        if kind is dict:
            for key, item in value.items():
                if type(key) is not str or not key.isascii():
                    return False
                stack.append(item)
            continue
        if kind is list:
            stack.extend(value)
            continue
        return False
    return True


def canonical(doc: Any) -> bytes:
    """RFC 8785 canonical JSON; a value it cannot represent is bad input, not a crash.

    STIX objects are nearly always plain (see `_plain`): those take the C encoder, the same
    bytes several times faster; anything else goes through the `rfc8785` package."""
    if _plain(doc):
        try:
            text = json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
            return text.encode()
        except UnicodeEncodeError:  # a lone surrogate: let rfc8785 say what it makes of it
            pass
    try:
        return rfc8785.dumps(doc)
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise InvalidInput(f"the object cannot be canonicalised (RFC 8785): {exc}") from None


def unsigned(obj: dict[str, Any]) -> dict[str, Any]:
    """The object without Minga's provenance extension (what the signature covers)."""
    out = dict(obj)
    exts = out.get("extensions")
    if isinstance(exts, dict) and EXTENSION_ID in exts:
        rest = {k: v for k, v in exts.items() if k != EXTENSION_ID}
        if rest:
            out["extensions"] = rest
        else:
            del out["extensions"]
    return out


def provenance_of(obj: dict[str, Any]) -> Provenance | None:
    """The provenance an object claims (unverified), or None when it carries none."""
    exts = obj.get("extensions")
    ext = exts.get(EXTENSION_ID) if isinstance(exts, dict) else None
    if not isinstance(ext, dict):
        return None
    node, key, hops = ext.get("origin_node"), ext.get("origin_key"), ext.get("hop_count")
    if not isinstance(node, str) or not isinstance(key, str) or not isinstance(hops, int):
        raise SignatureRejected("the provenance extension is malformed")
    if isinstance(hops, bool) or hops < 0:
        raise SignatureRejected("the provenance extension is malformed")
    return Provenance(node, key, hops)


def sign(obj: dict[str, Any], node: NodeIdentity, *, hop_count: int = 0) -> dict[str, Any]:
    """A copy of `obj` signed by this (origin) node, with `hop_count` hops so far."""
    body = unsigned(obj)
    message = _message(body, node.name, node.fingerprint)
    signature = node.signing_key.sign(message).signature
    out = dict(body)  # shallow: only `extensions` is replaced (a deep copy cost a third of it)
    exts = dict(out.get("extensions") or {})
    exts[EXTENSION_ID] = {
        "extension_type": "property-extension",
        "origin_node": node.name,
        "origin_key": node.fingerprint,
        "hop_count": hop_count,
        SIGNATURE_FIELD: base64.b64encode(signature).decode(),
    }
    out["extensions"] = exts
    return out


def with_hop_count(obj: dict[str, Any], hop_count: int) -> dict[str, Any]:
    """The same signed object with another hop count (it is outside the signature)."""
    out = dict(obj)
    exts = dict(out["extensions"])
    exts[EXTENSION_ID] = {**exts[EXTENSION_ID], "hop_count": hop_count}
    out["extensions"] = exts
    return out


def verify(obj: dict[str, Any], key_for: Callable[[str], bytes | None]) -> Provenance:
    """Check the origin's signature; `key_for(fingerprint)` gives a trusted raw public key.

    Raises `SignatureRejected` with the reason: no provenance, unknown origin key, or a
    signature that does not match the object.
    """
    prov = provenance_of(obj)
    if prov is None:
        raise SignatureRejected("the object carries no signed provenance")
    key = key_for(prov.origin_key)
    if key is None:
        raise SignatureRejected(f"the origin key {prov.origin_key[:16]}… is not known here")
    if fingerprint(key) != prov.origin_key:
        raise SignatureRejected("the origin key does not match its fingerprint")
    sig_b64 = obj["extensions"][EXTENSION_ID].get(SIGNATURE_FIELD)
    _check(key, _message(unsigned(obj), prov.origin_node, prov.origin_key), sig_b64)
    return prov


def _message(body: dict[str, Any], origin_node: str, origin_key: str) -> bytes:
    return canonical({"object": body, "origin_node": origin_node, "origin_key": origin_key})


def sign_document(doc: dict[str, Any], key: SigningKey) -> dict[str, Any]:
    """`doc` plus a `signature` field: Ed25519 over the canonical JSON of `doc`."""
    body = {k: v for k, v in doc.items() if k != SIGNATURE_FIELD}
    signature = key.sign(canonical(body)).signature
    return {**body, SIGNATURE_FIELD: base64.b64encode(signature).decode()}


def verify_document(doc: dict[str, Any], public_key: bytes) -> dict[str, Any]:
    """The document without its signature, once the signature checks out."""
    body = {k: v for k, v in doc.items() if k != SIGNATURE_FIELD}
    _check(public_key, canonical(body), doc.get(SIGNATURE_FIELD))
    return body


def _check(public_key: bytes, message: bytes, sig_b64: Any) -> None:
    if not isinstance(sig_b64, str):
        raise SignatureRejected("the signature is missing")
    try:
        signature = base64.b64decode(sig_b64, validate=True)
        VerifyKey(public_key).verify(message, signature)
    except (BadSignatureError, ValueError, TypeError):
        raise SignatureRejected("the signature does not match") from None
