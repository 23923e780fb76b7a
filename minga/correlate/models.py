"""Tables of the observable index, its exclusions and the imported warninglists."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from minga.db import Base
from minga.intel.models import PK

# One row per comparable value of a stored object version (`minga.correlate.index`), written
# in the transaction that writes the object and deleted with it. Whether the version is the
# latest, and who may see it, are read from `stix_objects` (joined on `object_pk`), so the
# policy's SQL filter applies to correlation exactly as to every other read.
observables = Table(
    "observables",
    Base.metadata,
    Column("object_pk", PK, ForeignKey("stix_objects.pk", ondelete="CASCADE"), nullable=False),
    Column("kind", String(16), nullable=False),  # ipv4, ipv4-net, domain, url, sha256 ...
    Column("value", String(2000), nullable=False),  # normalised (`minga.correlate.normalise`)
    # Range keys: fixed-width hex of the first and last address (IPs, networks); the reversed
    # domain of domains, URLs and mailboxes (`[`+hex when the host is an address).
    Column("lo", String(256), nullable=True),
    Column("hi", String(40), nullable=True),
    PrimaryKeyConstraint("object_pk", "kind", "value", name="pk_observables"),
    Index("ix_observables_value", "value"),
    Index(
        "ix_observables_range",
        "kind",
        "lo",
        sqlite_where=text("lo IS NOT NULL"),
        postgresql_where=text("lo IS NOT NULL"),
    ),
)

# Values never correlated (a sinkhole, a shared host): node-wide, set by the node operator.
correlation_exclusions = Table(
    "correlation_exclusions",
    Base.metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),
    Column("value", String(2000), nullable=False),
    Column("reason", String(500), nullable=False, default=""),
    Column("created_by", String(200), nullable=False, default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("kind", "value", name="uq_correlation_exclusions_kind"),
)

# Warninglists in MISP's format (https://github.com/MISP/misp-warninglists): known-benign
# values that flag stored indicators in look-ups, correlations and on the object page.
warninglists = Table(
    "warninglists",
    Base.metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(300), nullable=False, unique=True),
    Column("description", Text, nullable=False, default=""),
    Column("version", BigInteger, nullable=False, default=0),
    Column("list_type", String(16), nullable=False),  # string, substring, hostname, cidr, regex
    Column("matching", Text, nullable=False, default="[]"),  # MISP attribute types (JSON)
    Column("enabled", Boolean, nullable=False, default=True),
    Column("entries", Integer, nullable=False, default=0),
    Column("imported_at", DateTime(timezone=True), nullable=False),
)

warninglist_entries = Table(
    "warninglist_entries",
    Base.metadata,
    Column(
        "list_id",
        Integer,
        ForeignKey("warninglists.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("value", String(2000), nullable=False),  # normalised as the index normalises
    PrimaryKeyConstraint("list_id", "value", name="pk_warninglist_entries"),
    Index("ix_warninglist_entries_value", "value"),
)
