"""Peers: the nodes this node exchanges intelligence with, pinned by key fingerprint.

Adding a peer fetches its identity document (`GET /federation/node`) and refuses a key whose
fingerprint differs from the one read out by phone; a peer that cannot be reached is stored
unpinned and pinned at first contact (`pin_key`). The peer becomes a read-only remote
organisation here with a machine account `peer-NAME`, whose one-time token the other side
keeps in the environment variable it names with `--token-env`.
Services take a session and never commit.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from minga import audit
from minga.accounts import service as accounts
from minga.accounts.checks import require
from minga.accounts.models import ApiToken, Organisation, User
from minga.accounts.places import check_country, check_sector, is_country, sector_key
from minga.accounts.tokens import IssuedToken
from minga.errors import Conflict, InvalidInput, NotFound
from minga.federation.collection import ensure_collection
from minga.federation.identity import DOCUMENT_TYPE, fetch_identity
from minga.federation.keys import decode_public_key, ensure_key, fingerprint, parse_fingerprint
from minga.federation.models import DIRECTIONS, KnownKey, PeerNode
from minga.federation.remote import ensure_remote_organisation
from minga.federation.signing import SignatureRejected, verify_document
from minga.policy import Action, Principal

PEER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,119}$")
MACHINE_PREFIX = "peer-"

Fetch = Callable[[str], dict[str, Any] | None]


@dataclass(frozen=True, slots=True)
class AddedPeer:
    peer: PeerNode
    token: IssuedToken  # for the peer's machine account here; shown once
    machine_account: str
    pinned: bool  # False: the peer could not be reached; its key is pinned at first contact


def machine_account_name(peer_name: str) -> str:
    return f"{MACHINE_PREFIX}{peer_name}"


# -- look-ups used by sync and receipts ----------------------------------------------------


def list_peers(session: Session) -> list[PeerNode]:
    return list(session.scalars(select(PeerNode).order_by(PeerNode.name)))


def get_peer(session: Session, name: str) -> PeerNode:
    peer = session.scalar(select(PeerNode).where(PeerNode.name == name))
    if peer is None:
        raise NotFound(f"no peer named {name!r} (see `minga peer list`)")
    return peer


def peer_for_user(session: Session, user_id: int) -> PeerNode | None:
    """The peer whose machine account `user_id` is, or None for any other account."""
    user = session.get(User, user_id)
    if user is None or not user.name.startswith(MACHINE_PREFIX):
        return None
    return session.scalar(
        select(PeerNode).where(
            PeerNode.name == user.name.removeprefix(MACHINE_PREFIX),
            PeerNode.org_id == user.org_id,
        )
    )


def trusted_keys(session: Session) -> dict[str, tuple[str, bytes]]:
    """fingerprint → (node name, raw public key): pinned peers, then keys they vouch for."""
    found: dict[str, tuple[str, bytes]] = {}
    for fp, node, key in session.execute(
        select(KnownKey.fingerprint, KnownKey.node_name, KnownKey.public_key)
    ):
        found[fp] = (node, base64.b64decode(key))
    for peer in session.scalars(select(PeerNode).where(PeerNode.public_key.is_not(None))):
        if peer.public_key is not None:  # a direct pin wins over a vouch
            found[peer.fingerprint] = (peer.name, base64.b64decode(peer.public_key))
    return found


def key_for(session: Session) -> Callable[[str], bytes | None]:
    """`fingerprint -> raw public key` over pinned peer keys and vouched keys (for `verify`)."""
    keys = {fp: key for fp, (_, key) in trusted_keys(session).items()}
    return keys.get


def node_for_key(session: Session) -> Callable[[str], str | None]:
    """`fingerprint -> node name` the key is pinned or vouched for: a version signed with it
    may claim only that origin node."""
    names = {fp: node for fp, (node, _) in trusted_keys(session).items()}
    return names.get


# -- keys and identity documents -----------------------------------------------------------


def pin_key(session: Session, peer: PeerNode, public_key_b64: str) -> None:
    """Pin the key the peer presented; `SignatureRejected` unless it has the agreed fingerprint."""
    try:
        raw = decode_public_key(public_key_b64)
    except InvalidInput:
        raise SignatureRejected(f"peer {peer.name} presented no valid Ed25519 key") from None
    if fingerprint(raw) != peer.fingerprint:
        raise SignatureRejected(
            f"peer {peer.name} presented a key with fingerprint {fingerprint(raw)}, not the"
            f" pinned {peer.fingerprint}: compare the fingerprint with its operator again"
        )
    encoded = base64.b64encode(raw).decode()
    if peer.public_key != encoded:
        peer.public_key = encoded
        session.flush()
        audit.record(session, None, "peer.pin", "peer", peer.name, fingerprint=peer.fingerprint)


def checked_identity(document: dict[str, Any], *, name: str, fp: str) -> dict[str, Any]:
    """The identity document of node `name` with key fingerprint `fp`, once its signature, key
    and name check out (the signature is over the whole document, vouches included)."""
    if not isinstance(document, dict) or document.get("type") != DOCUMENT_TYPE:
        raise InvalidInput(f"the node {name} did not answer with a Minga node-identity document")
    key_b64 = document.get("public_key")
    if not isinstance(key_b64, str):
        raise SignatureRejected(f"the identity document of {name} carries no public key")
    raw = decode_public_key(key_b64)
    if fingerprint(raw) != fp:
        raise SignatureRejected(
            f"the node presents key fingerprint {fingerprint(raw)}, not {fp}: compare the"
            " fingerprint with its operator again (by phone); nothing was changed"
        )
    body = verify_document(document, raw)
    if body.get("name") != name:
        raise InvalidInput(
            f"the node calls itself {body.get('name')!r}, not {name!r}: use its own node name"
            " (MINGA_NODE_NAME there), which its signed versions carry"
        )
    return body


def refresh_identity(session: Session, peer: PeerNode, document: dict[str, Any]) -> None:
    """Take in the peer's signed identity document: pin its key if not yet pinned, check the
    signature against it, keep the keys it vouches for, and update its organisation."""
    body = checked_identity(document, name=peer.name, fp=peer.fingerprint)
    pin_key(session, peer, body["public_key"])
    _store_vouches(session, peer, body.get("vouches"))
    org_doc = body.get("organisation")
    org = session.get(Organisation, peer.org_id)
    if isinstance(org_doc, dict) and org is not None:
        ref = org_doc.get("identity_ref")
        taken = session.scalar(select(Organisation.id).where(Organisation.identity_ref == ref))
        if isinstance(ref, str) and ref.startswith("identity--") and taken is None:
            org.identity_ref = ref[:100]
        if isinstance(org_doc.get("country"), str) and is_country(org_doc["country"]):
            org.country = org_doc["country"].upper()
        stated = sector_key(org_doc["sector"]) if isinstance(org_doc.get("sector"), str) else None
        if stated is not None:
            org.sector = stated
    session.flush()


def _store_vouches(session: Session, peer: PeerNode, vouches: Any) -> None:
    own = fingerprint(bytes(ensure_key(session).verify_key))
    pinned = {p.name: p.fingerprint for p in list_peers(session)}
    now = datetime.now(UTC)
    keep: set[str] = set()
    for v in vouches if isinstance(vouches, list) else []:
        if not isinstance(v, dict) or not isinstance(v.get("name"), str):
            continue
        try:
            raw = decode_public_key(str(v.get("public_key")))
        except InvalidInput:
            continue
        fp, node = fingerprint(raw), v["name"][:200]
        # Never take a vouch for this node, or one that contradicts a direct pin.
        if fp == own or node == peer.name or pinned.get(node, fp) != fp:
            continue
        keep.add(fp)
        row = session.get(KnownKey, fp)
        if row is None:
            session.add(
                KnownKey(
                    fingerprint=fp,
                    node_name=node,
                    public_key=base64.b64encode(raw).decode(),
                    vouched_by_peer_id=peer.id,
                    updated_at=now,
                )
            )
        elif row.vouched_by_peer_id == peer.id or row.node_name == node:
            row.node_name, row.vouched_by_peer_id, row.updated_at = node, peer.id, now
    gone = delete(KnownKey).where(KnownKey.vouched_by_peer_id == peer.id)
    session.execute(gone.where(KnownKey.fingerprint.not_in(keep)) if keep else gone)
    session.flush()


def record_contact(session: Session, peer: PeerNode, *, error: str | None = None) -> None:
    """A successful exchange with the peer (`error` None), or why the last one failed."""
    now = datetime.now(UTC)
    if error is None:
        peer.last_contact_at = now
    else:
        peer.last_error = error[:2000]
        peer.last_error_at = now
    session.flush()


# -- adding and removing peers (node operator) ---------------------------------------------


def add_peer(
    session: Session,
    actor: Principal | None,
    *,
    name: str,
    url: str,
    fingerprint_text: str,
    direction: str,
    token_env: str,
    country: str | None = None,
    sector: str | None = None,
    fetch: Fetch = fetch_identity,
) -> AddedPeer:
    """Add a peer (`actor` None is the node-local command line); see the module docstring."""
    if actor is not None:
        require(actor, Action.MANAGE_PEERS)
    name, url, token_env = name.strip(), url.strip().rstrip("/"), token_env.strip()
    if not PEER_NAME.match(name):
        raise InvalidInput("a peer name is 1-100 letters, digits and . _ - (its node name)")
    if not url.startswith(("http://", "https://")) or len(url) > 500:
        raise InvalidInput("the peer URL must be an http:// or https:// URL (at most 500 chars)")
    if direction not in DIRECTIONS:
        raise InvalidInput(f"direction must be one of: {', '.join(DIRECTIONS)}")
    if not ENV_NAME.match(token_env):
        raise InvalidInput(
            "--token-env names the environment variable holding the token the peer gave this"
            " node (letters, digits and _, not starting with a digit)"
        )
    country = check_country(country) if country and country.strip() else None
    sector = check_sector(sector) if sector and sector.strip() else None
    fp = parse_fingerprint(fingerprint_text)
    if fp == fingerprint(bytes(ensure_key(session).verify_key)):
        raise InvalidInput("that fingerprint is this node's own key: a node is not its own peer")
    if session.scalar(select(PeerNode.id).where(PeerNode.name == name)) is not None:
        raise Conflict(f"a peer named {name!r} already exists")
    if session.scalar(select(PeerNode.id).where(PeerNode.fingerprint == fp)) is not None:
        raise Conflict("a peer with that key fingerprint already exists")

    document = fetch(url)
    if document is not None and document.get("type") != DOCUMENT_TYPE:
        document = None  # a TAXII server that is not Minga: no identity to check
    body = checked_identity(document, name=name, fp=fp) if document is not None else None
    org_doc = body.get("organisation") if body else None
    org_doc = org_doc if isinstance(org_doc, dict) else {}

    account = machine_account_name(name)
    user = session.scalar(select(User).where(User.name == account))
    if user is not None:  # a peer removed before comes back: same organisation and account
        org = accounts.get_organisation(session, user.org_id)
        if org.remote_node != name:
            raise Conflict(f"a local account is already named {account!r}")
    else:
        ref = org_doc.get("identity_ref")
        org = ensure_remote_organisation(
            session,
            node=name,
            identity_ref=ref if isinstance(ref, str) and ref.startswith("identity--") else None,
            name=str(org_doc.get("name") or name),
            country=country or org_doc.get("country"),
            sector=sector or org_doc.get("sector"),
        )
    peer = PeerNode(
        name=name,
        url=url,
        fingerprint=fp,
        public_key=None,
        direction=direction,
        token_env=token_env,
        org_id=org.id,
        created_at=datetime.now(UTC),
        push_position=0,
        sent=0,
        received=0,
        rejected=0,
    )
    session.add(peer)
    session.flush()
    ensure_collection(session)  # where this peer will push and pull
    if document is not None:
        refresh_identity(session, peer, document)
        if country or sector:  # what the operator typed wins over the document
            org.country = country or org.country
            org.sector = sector or org.sector
    if user is None:
        user = accounts.create_user(
            session, None, org_id=org.id, name=account, role="machine", allow_remote=True
        )
    else:
        user.active = True
    _, issued = accounts.issue_token(session, None, user_id=user.id, label=f"peer {name}")
    audit.record(
        session,
        actor,
        "peer.add",
        "peer",
        name,
        subject_org_id=org.id,
        url=url,
        fingerprint=fp,
        direction=direction,
        pinned=peer.public_key is not None,
    )
    return AddedPeer(peer, issued, account, peer.public_key is not None)


def remove_peer(session: Session, actor: Principal | None, name: str) -> PeerNode:
    """Drop the peer: its machine account is disabled and its tokens revoked; the objects it
    sent stay, owned by their remote organisations."""
    if actor is not None:
        require(actor, Action.MANAGE_PEERS)
    peer = get_peer(session, name)
    user = session.scalar(
        select(User).where(User.name == machine_account_name(name), User.org_id == peer.org_id)
    )
    now = datetime.now(UTC)
    if user is not None:
        user.active = False
        for tok in session.scalars(
            select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        ):
            tok.revoked_at = now
    session.execute(delete(KnownKey).where(KnownKey.vouched_by_peer_id == peer.id))
    session.delete(peer)
    session.flush()
    audit.record(session, actor, "peer.remove", "peer", name, subject_org_id=peer.org_id)
    return peer
