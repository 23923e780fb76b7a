"""Signed provenance of an object version: origin node, hop count and the origin's signature.

Every version that leaves its origin node carries a STIX 2.1 property extension (key
`EXTENSION_ID`) holding the origin node's name, its key fingerprint, the number of hops
travelled so far and an Ed25519 signature of the origin node over the RFC 8785 canonical JSON
(the `rfc8785` package) of `{"object": <the object without that extension>, "origin_node": ...,
"origin_key": ..., "reach": ..., "recipients": [...]}` (reach and recipients when the origin gave
them: its sharing decision), so neither the content, nor who made it, nor how far it may travel
can change on the way. The hop count is not signed: each hop raises it; a receiver relies on
the direct peer it came from instead (a `connected` version is only taken from its origin).

`sign_document`/`verify_document` sign any other JSON document the same way (recall receipts,
node-identity objects that vouch for another node's key). `sign_documents` signs many at once
(a node's receipts for a batch of arrivals): one signature over the root of a Merkle tree of
their canonical JSON, and each document carries the path from its leaf to that root, so each
one still travels, is verified and is kept on its own; `verify_document` checks either form.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import orjson
import rfc8785
from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

from minga.errors import InvalidInput
from minga.federation.keys import NodeIdentity, fingerprint

# Fixed id of Minga's provenance extension (its extension-definition object: `definition()`).
EXTENSION_ID = "extension-definition--6c1b7a8e-5b0e-4d8e-9a51-4d2b8f0c7a11"
SIGNATURE_FIELD = "signature"
BATCH_FIELD = "batch"  # a document signed in a batch: {"path": [...], "signature": ...}
BATCH_TYPE = "minga-signed-batch"
MAX_PATH = 40  # levels of a batch's tree a verifier follows (2**40 documents)
# Extension fields the origin signs besides the object: its reach and named recipients.
SIGNED_TERMS = ("reach", "recipients")


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
    """Whether RFC 8785 writes `doc` exactly as orjson does with sorted keys: ASCII keys (so
    code-point order is UTF-16 order), no floats (ECMAScript number formatting differs),
    integers a double holds; strings escape the same way."""
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

    STIX objects are nearly always plain (see `_plain`): those take orjson with sorted keys,
    the same bytes (tests/federation/test_canonical.py) ten times faster than Python's C
    encoder; anything else goes through the `rfc8785` package."""
    if _plain(doc):
        try:
            return orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)
        except orjson.JSONEncodeError:  # a lone surrogate, or too deep: rfc8785 says
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


def sign(
    obj: dict[str, Any],
    node: NodeIdentity,
    *,
    hop_count: int = 0,
    terms: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A copy of `obj` signed by this (origin) node, with `hop_count` hops so far.

    `terms` (keys in `SIGNED_TERMS`: the version's reach, its named recipients) are the origin's
    sharing decision: they go into the extension and under the signature, so no node on the
    way can widen them."""
    body = unsigned(obj)
    extra = {k: v for k, v in (terms or {}).items() if k in SIGNED_TERMS}
    message = _message(body, node.name, node.fingerprint, extra)
    signature = base64.b64encode(node.signing_key.sign(message).signature).decode()
    return signed_with(body, node, signature, hop_count=hop_count, terms=extra)


def signed_with(
    obj: dict[str, Any],
    node: NodeIdentity,
    signature: str,
    *,
    hop_count: int = 0,
    terms: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """`obj` with this node's provenance and a signature it made of it before (`sign`, kept:
    serving a version again never signs it again)."""
    out = unsigned(obj)  # shallow: only `extensions` is replaced (a deep copy cost a third)
    exts = dict(out.get("extensions") or {})
    exts[EXTENSION_ID] = {
        "extension_type": "property-extension",
        "origin_node": node.name,
        "origin_key": node.fingerprint,
        "hop_count": hop_count,
        SIGNATURE_FIELD: signature,
        **{k: v for k, v in (terms or {}).items() if k in SIGNED_TERMS},
    }
    out["extensions"] = exts
    return out


def signature_of(obj: dict[str, Any]) -> str:
    """The signature a signed object carries (`sign`)."""
    return str(obj["extensions"][EXTENSION_ID][SIGNATURE_FIELD])


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
    ext = obj["extensions"][EXTENSION_ID]
    extra = {k: ext[k] for k in SIGNED_TERMS if k in ext}
    _check(
        key,
        _message(unsigned(obj), prov.origin_node, prov.origin_key, extra),
        ext.get(SIGNATURE_FIELD),
    )
    return prov


def _message(
    body: dict[str, Any], origin_node: str, origin_key: str, terms: dict[str, Any]
) -> bytes:
    doc = {"object": body, "origin_node": origin_node, "origin_key": origin_key, **terms}
    return canonical(doc)


def sign_document(doc: dict[str, Any], key: SigningKey) -> dict[str, Any]:
    """`doc` plus a `signature` field: Ed25519 over the canonical JSON of `doc`."""
    body = _body(doc)
    signature = key.sign(canonical(body)).signature
    return {**body, SIGNATURE_FIELD: base64.b64encode(signature).decode()}


def sign_documents(docs: list[dict[str, Any]], key: SigningKey) -> list[dict[str, Any]]:
    """Each of `docs` plus a `batch` field, for one signature over all of them: the root of a
    Merkle tree over their canonical JSON is signed, and each document carries its path to it
    (a sibling hash per level, "L" or "R" of the side it is on)."""
    bodies = [_body(doc) for doc in docs]
    if not bodies:
        return []
    levels = [[_leaf(canonical(body)) for body in bodies]]
    while len(levels[-1]) > 1:
        below = levels[-1]
        levels.append(
            [
                _node(below[i], below[i + 1]) if i + 1 < len(below) else below[i]
                for i in range(0, len(below), 2)
            ]
        )
    signature = base64.b64encode(key.sign(_root_message(levels[-1][0])).signature).decode()
    out = []
    for index, body in enumerate(bodies):
        path, at = [], index
        for level in levels[:-1]:
            sibling = at ^ 1
            if sibling < len(level):  # an odd last node goes up a level unpaired
                side = "L" if sibling < at else "R"
                path.append(side + base64.b64encode(level[sibling]).decode())
            at //= 2
        out.append({**body, BATCH_FIELD: {"path": path, SIGNATURE_FIELD: signature}})
    return out


def verify_document(
    doc: dict[str, Any], public_key: bytes, verified: set[tuple[bytes, bytes]] | None = None
) -> dict[str, Any]:
    """The document without its signature, once the signature checks out: its own, or the
    signature of the batch it was signed in. `verified` remembers (key, root) pairs already
    checked, so the documents of one batch cost one signature check."""
    body = _body(doc)
    message = canonical(body)
    batch = doc.get(BATCH_FIELD)
    if batch is None:
        _check(public_key, message, doc.get(SIGNATURE_FIELD))
        return body
    if SIGNATURE_FIELD in doc or not isinstance(batch, dict):
        raise SignatureRejected("the batch signature is malformed")
    root = _root(_leaf(message), batch.get("path"))
    if verified is None or (public_key, root) not in verified:
        _check(public_key, _root_message(root), batch.get(SIGNATURE_FIELD))
        if verified is not None:
            verified.add((public_key, root))
    return body


def _body(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k != SIGNATURE_FIELD and k != BATCH_FIELD}


def _leaf(message: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + message).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _root_message(root: bytes) -> bytes:
    return canonical({"type": BATCH_TYPE, "root": root.hex()})


def _root(leaf: bytes, path: Any) -> bytes:
    if not isinstance(path, list) or len(path) > MAX_PATH:
        raise SignatureRejected("the batch signature's path is malformed")
    at = leaf
    for step in path:
        if not isinstance(step, str) or step[:1] not in ("L", "R"):
            raise SignatureRejected("the batch signature's path is malformed")
        try:
            sibling = base64.b64decode(step[1:], validate=True)
        except ValueError:
            raise SignatureRejected("the batch signature's path is malformed") from None
        if len(sibling) != 32:
            raise SignatureRejected("the batch signature's path is malformed")
        at = _node(sibling, at) if step[0] == "L" else _node(at, sibling)
    return at


@lru_cache(maxsize=256)
def _verify_key(public_key: bytes) -> VerifyKey:
    return VerifyKey(public_key)


def _check(public_key: bytes, message: bytes, sig_b64: Any) -> None:
    if not isinstance(sig_b64, str):
        raise SignatureRejected("the signature is missing")
    try:
        signature = base64.b64decode(sig_b64, validate=True)
        _verify_key(public_key).verify(message, signature)
    except (BadSignatureError, ValueError, TypeError):
        raise SignatureRejected("the signature does not match") from None
