"""The node-identity document: who this node is, signed with its own key, served at
`GET /federation/node` and fetched from a peer when it is added.

It names the node, its URL, its public key and fingerprint, the organisation that runs it, the
TAXII collection peers exchange versions through, and vouches for the keys of the peers this
node has pinned, so a node two hops away can verify versions whose origin it never met.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from minga.accounts.models import NodeSetting, Organisation
from minga.accounts.node import operator_org_id
from minga.federation.keys import node_identity
from minga.federation.models import KnownKey, PeerNode
from minga.federation.signing import sign_document

DOCUMENT_TYPE = "minga-node-identity"
PATH = "/federation/node"
# Node setting holding the id of the node's federation TAXII collection (made by sync).
COLLECTION_SETTING = "federation_collection_id"
FETCH_TIMEOUT = 5.0


def collection_url(session: Session, url: str) -> str | None:
    """URL of the federation collection peers push to and pull from, once it exists."""
    row = session.get(NodeSetting, COLLECTION_SETTING)
    if row is None:
        return None
    return f"{url.rstrip('/')}/taxii2/api/collections/{row.value}/"


def identity_document(session: Session, *, name: str, url: str) -> dict[str, Any]:
    """This node's identity document, signed with its key (`sign_document`)."""
    node = node_identity(session, name=name, url=url)
    org = None
    operator = operator_org_id(session)
    if operator is not None:
        org = session.get(Organisation, operator)
    vouches = [
        {"name": p.name, "public_key": p.public_key, "fingerprint": p.fingerprint}
        for p in session.scalars(
            select(PeerNode).where(PeerNode.public_key.is_not(None)).order_by(PeerNode.name)
        )
    ]
    # Keys this node learnt from its peers' vouches travel on, so versions verify however
    # many hops their origin is away (ISAC → national CSIRT → hub → another national CSIRT).
    listed = {v["fingerprint"] for v in vouches}
    vouches += [
        {"name": k.node_name, "public_key": k.public_key, "fingerprint": k.fingerprint}
        for k in session.scalars(select(KnownKey).order_by(KnownKey.node_name))
        if k.fingerprint not in listed and k.fingerprint != node.fingerprint
    ]
    doc: dict[str, Any] = {
        "type": DOCUMENT_TYPE,
        "name": node.name,
        "url": node.url,
        "public_key": node.public_key_b64,
        "fingerprint": node.fingerprint,
        "organisation": None
        if org is None
        else {
            "name": org.name,
            "country": org.country,
            "sector": org.sector,
            "identity_ref": org.identity_ref,
        },
        "taxii_collection": collection_url(session, node.url),
        "vouches": vouches,
        "issued": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    }
    return sign_document(doc, node.signing_key)


def fetch_identity(url: str, *, timeout: float = FETCH_TIMEOUT) -> dict[str, Any] | None:
    """The identity document a node serves, or None when the node cannot be reached or
    serves none (a TAXII server that is not Minga); it is checked by the caller."""
    try:
        answer = httpx.get(url.rstrip("/") + PATH, timeout=timeout, follow_redirects=False)
    except httpx.HTTPError:
        return None
    if answer.status_code != 200:
        return None
    try:
        doc = answer.json()
    except ValueError:
        return None
    return doc if isinstance(doc, dict) else None
