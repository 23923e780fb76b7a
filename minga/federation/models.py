"""Tables of the federation domain: peers (pinned by key fingerprint), vouched keys, arrivals."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from minga.db import Base

DIRECTIONS = ("pull", "push", "both")


class PeerNode(Base):
    """Another Minga (or any TAXII 2.1) node this node exchanges intelligence with.

    `fingerprint` pins the peer's Ed25519 key (SHA-256 of the raw public key, 64 hex digits);
    `public_key` (base64 of the raw 32-byte key) is filled once a key matching the fingerprint
    was seen. `org_id` is the read-only organisation that stands for the peer node on this node,
    so sharing groups and the policy treat nodes and organisations alike. `token_env` names the
    environment variable holding the token this node presents to the peer (never stored).
    """

    __tablename__ = "federation_peers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    url: Mapped[str] = mapped_column(String(500))
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    public_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    direction: Mapped[str] = mapped_column(String(8))
    token_env: Mapped[str] = mapped_column(String(120), default="")
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Sync state, updated by push and pull (see the status command).
    pull_cursor: Mapped[str | None] = mapped_column(String(40), nullable=True)
    # The last store position (date_added, µs; see `minga.intel.positions`) pushed to the peer.
    push_position: Mapped[int] = mapped_column(BigInteger, default=0)
    last_contact_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    last_error_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    sent: Mapped[int] = mapped_column(Integer, default=0)
    received: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)


class KnownKey(Base):
    """A node key vouched for by a pinned peer (in its signed node-identity document).

    Lets a node verify versions whose origin is not a direct peer: the hub vouches for the
    nodes it is pinned to, and so on outwards.
    """

    __tablename__ = "federation_known_keys"

    fingerprint: Mapped[str] = mapped_column(String(64), primary_key=True)
    node_name: Mapped[str] = mapped_column(String(200), index=True)
    public_key: Mapped[str] = mapped_column(String(64))
    vouched_by_peer_id: Mapped[int] = mapped_column(
        ForeignKey("federation_peers.id", ondelete="CASCADE"), index=True
    )
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Arrival(Base):
    """One object version received from a peer and stored (written in the same transaction).

    Tells sync which peer already holds a version (never send it back), and receipts which
    versions to acknowledge to their origin (received, or revoked = recalled).
    """

    __tablename__ = "federation_arrivals"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True
    )
    stix_id: Mapped[str] = mapped_column(String(128), index=True)
    modified: Mapped[str] = mapped_column(String(40))
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    origin_node: Mapped[str] = mapped_column(String(200))
    origin_key: Mapped[str] = mapped_column(String(64))
    hop_count: Mapped[int] = mapped_column(Integer)
    from_peer_id: Mapped[int] = mapped_column(
        ForeignKey("federation_peers.id", ondelete="CASCADE"), index=True
    )
    arrived_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class VersionSignature(Base):
    """This node's signature of one of its own versions, made the first time it left (`serve`)
    and kept, so serving it again, to any peer, never signs it again. It holds for the key
    (`origin_key`), node name and sharing terms (`terms`: JSON of the name, reach and named
    recipients signed with it) it was made with; another key, name or terms: signed anew."""

    __tablename__ = "federation_signatures"

    object_pk: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"),
        ForeignKey("stix_objects.pk", ondelete="CASCADE"),
        primary_key=True,
    )
    origin_key: Mapped[str] = mapped_column(String(64))
    terms: Mapped[str] = mapped_column(Text)
    signature: Mapped[str] = mapped_column(String(100))
