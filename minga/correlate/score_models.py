"""Tables of sightings and indicator scores.

A sighting itself is a STIX `sighting` object in the object store (`stix_objects`); the row
here is its index for counting: what it sighted, how often, when, whether it says "false
positive", whether it is anonymous, and the organisation that made it (kept here even for an
anonymous sighting, where only `minga.policy.may_know_sighter` may reveal it, to that
organisation itself).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
)

from minga.db import Base

sightings = Table(
    "sightings",
    Base.metadata,
    Column("sighting_id", String(128), primary_key=True),
    # The organisation that holds (made) this sighting: the object store's owner of it.
    Column(
        "org_id",
        Integer,
        ForeignKey("organisations.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("sighting_of_ref", String(128), nullable=False),
    Column("count", Integer, nullable=False, default=1),
    Column("first_seen_us", BigInteger, nullable=False),
    Column("last_seen_us", BigInteger, nullable=False),
    Column("false_positive", Boolean, nullable=False, default=False),
    Column("anonymous", Boolean, nullable=False, default=False),
    # member, sensor (a machine account) or federation (arrived from another node)
    Column("observer", String(16), nullable=False),
    Index("ix_sightings_sighting_of_ref", "sighting_of_ref"),
)

indicator_scores = Table(
    "indicator_scores",
    Base.metadata,
    Column("stix_id", String(128), primary_key=True),
    Column("score", Integer, nullable=False),
    Column("base", Float, nullable=False),
    Column("confidence", Integer, nullable=False),
    Column("model", String(16), nullable=False),
    Column("sightings", Integer, nullable=False),
    Column("false_positives", Integer, nullable=False),
    Column("organisations", Integer, nullable=False),
    Column("last_seen_us", BigInteger, nullable=True),
    # When the score falls under the threshold (never under it: NULL is impossible, it is
    # `reference + lifetime` at most); already under it: the reference time itself.
    Column("valid_until_us", BigInteger, nullable=False),
    Column("computed_us", BigInteger, nullable=False),
    Index("ix_indicator_scores_score", "score"),
)

# An organisation's default confidence, for its indicators that state none (set by the node
# operator: how far this node trusts that source). Without a row, `MINGA_SCORE_DEFAULT_CONFIDENCE`.
org_confidence = Table(
    "score_org_confidence",
    Base.metadata,
    Column(
        "org_id",
        Integer,
        ForeignKey("organisations.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    Column("confidence", Integer, nullable=False),
)
