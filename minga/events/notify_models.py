"""Tables of notification: who wants what (preferences, watch lists, webhooks), what each
organisation answers for (its constituency), and what was sent (deliveries, e-mail, dedupe)."""

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
)

from minga.db import Base

# How each user wants to be told: an address, a language (es/pt/en) and an e-mail mode
# (off, immediate, digest: one message a day with everything since the last one).
notify_prefs = Table(
    "notify_prefs",
    Base.metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("email", String(254), nullable=False, default=""),
    Column("language", String(2), nullable=False, default="en"),
    Column("mail_mode", String(10), nullable=False, default="off"),
    Column("last_digest_at", DateTime(timezone=True), nullable=True),
)

# "Tell me when this value, campaign or actor is updated, sighted, or reported from abroad."
watches = Table(
    "watches",
    Base.metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(10), nullable=False),  # value | object
    Column("value", String(2000), nullable=False),  # a normalised value, or a STIX id
    Column("value_kind", String(16), nullable=False, default=""),  # ipv4, domain ...
    Column("abroad_only", Boolean, nullable=False, default=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("user_id", "kind", "value_kind", "value"),
)
Index("ix_watches_user", watches.c.user_id)

webhooks = Table(
    "webhooks",
    Base.metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("org_id", Integer, ForeignKey("organisations.id"), nullable=False),
    # Set for a user's own webhook (it receives what that user may see); null: the whole
    # organisation's (what any of its members may see).
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=True),
    Column("url", String(2000), nullable=False),
    # The HMAC key: kept as given, since the sender signs with it; shown once at creation.
    Column("secret", String(100), nullable=False),
    Column("types", String(1000), nullable=False, default=""),  # comma-separated STIX types
    Column("max_tlp", String(16), nullable=True),
    Column("min_score", Integer, nullable=True),
    Column("watched_only", Boolean, nullable=False, default=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
Index("ix_webhooks_org", webhooks.c.org_id)

# One row per thing to POST (an object version or a notification), written by the webhook
# consumer in its cursor's transaction; the sender moves it to delivered or dead.
webhook_deliveries = Table(
    "webhook_deliveries",
    Base.metadata,
    Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True),
    Column("webhook_id", Integer, ForeignKey("webhooks.id", ondelete="CASCADE"), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("item_key", String(200), nullable=False),  # stix id and version, or "notification"
    Column("payload", Text, nullable=False),
    Column("status", String(10), nullable=False),  # pending | delivered | dead
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_at", DateTime(timezone=True), nullable=False),
    Column("last_code", Integer, nullable=True),
    Column("last_error", String(500), nullable=False, default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("delivered_at", DateTime(timezone=True), nullable=True),
    UniqueConstraint("webhook_id", "seq", "item_key"),
)
Index("ix_webhook_deliveries_due", webhook_deliveries.c.status, webhook_deliveries.c.next_at)

# Notifications to e-mail, one per user and event; immediate ones are sent as they come,
# digest ones together once a day.
notify_mail = Table(
    "notify_mail",
    Base.metadata,
    Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("mode", String(10), nullable=False),  # immediate | digest
    Column("payload", Text, nullable=False),
    Column("status", String(10), nullable=False),  # pending | sent | failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("error", String(500), nullable=False, default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("sent_at", DateTime(timezone=True), nullable=True),
    UniqueConstraint("user_id", "seq"),
)
Index("ix_notify_mail_status", notify_mail.c.status, notify_mail.c.user_id)

# What an organisation answers for: ASNs, IP ranges (v4 and v6) and domains (with subdomains).
constituency_assets = Table(
    "constituency_assets",
    Base.metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("org_id", Integer, ForeignKey("organisations.id"), nullable=False),
    Column("kind", String(8), nullable=False),  # asn | ip | domain
    Column("value", String(300), nullable=False),  # AS number, network (CIDR), domain
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("org_id", "kind", "value"),
)

# Once per value per period: a constituent hears about a value once in each period.
constituency_seen = Table(
    "constituency_seen",
    Base.metadata,
    Column("org_id", Integer, nullable=False),
    Column("value", String(2000), nullable=False),
    Column("period", BigInteger, nullable=False),
    PrimaryKeyConstraint("org_id", "period", "value"),
)
