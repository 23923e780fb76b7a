"""Tables of recall receipts: those held for this node's own objects, and those still to send.

A receipt is a node's signed statement that it stored a version of an object ("received") or
its revocation ("recalled"). It travels hop by hop back towards the object's origin, along the
peers the versions came from (the arrivals), and is kept only at the origin.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from minga.db import Base

PK = BigInteger().with_variant(Integer(), "sqlite")
STATES = ("received", "recalled")
QUEUED, SENT, REJECTED = "queued", "sent", "rejected"


class Receipt(Base):
    """A verified receipt for an object that originated on this node (one per version, state
    and receiving node's key)."""

    __tablename__ = "federation_receipts"
    __table_args__ = (
        UniqueConstraint(
            "stix_id", "modified", "state", "fingerprint", name="uq_federation_receipts_version"
        ),
    )

    id: Mapped[int] = mapped_column(PK, primary_key=True)
    stix_id: Mapped[str] = mapped_column(String(128), index=True)
    modified: Mapped[str] = mapped_column(String(40))
    state: Mapped[str] = mapped_column(String(16))
    node_name: Mapped[str] = mapped_column(String(200))
    fingerprint: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[str] = mapped_column(String(40))  # the receipt's own "at"
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The direct peer that delivered it; `key_vouched`: the signer's key was not known here
    # and was vouched for by that peer (which had verified the receipt itself).
    via_peer_id: Mapped[int | None] = mapped_column(
        ForeignKey("federation_peers.id", ondelete="SET NULL"), nullable=True
    )
    key_vouched: Mapped[bool] = mapped_column(Boolean, default=False)
    document: Mapped[str] = mapped_column(Text)  # the signed receipt as received


class OutgoingReceipt(Base):
    """A receipt to deliver to one peer: made here from an arrival, or forwarded towards the
    origin. Sent by the drain loop, retried with backoff until the peer answers."""

    __tablename__ = "federation_receipts_out"
    __table_args__ = (
        UniqueConstraint(
            "to_peer_id",
            "stix_id",
            "modified",
            "state",
            "fingerprint",
            name="uq_federation_receipts_out_version",
        ),
        Index("ix_federation_receipts_out_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(PK, primary_key=True)
    # The arrival this node's own receipt answers (NULL for a forwarded receipt).
    arrival_id: Mapped[int | None] = mapped_column(
        PK, ForeignKey("federation_arrivals.id", ondelete="CASCADE"), nullable=True, unique=True
    )
    to_peer_id: Mapped[int] = mapped_column(
        ForeignKey("federation_peers.id", ondelete="CASCADE"), index=True
    )
    stix_id: Mapped[str] = mapped_column(String(128))
    modified: Mapped[str] = mapped_column(String(40))
    state: Mapped[str] = mapped_column(String(16))
    fingerprint: Mapped[str] = mapped_column(String(64))  # of the node that signed it
    public_key: Mapped[str] = mapped_column(String(64))  # that node's key (base64), vouched
    document: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(16), default=QUEUED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
