"""The object store: raw STIX JSON plus the index columns every query and the policy need."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    literal_column,
    text,
)

from minga.db import Base

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
PK = BigInteger().with_variant(Integer(), "sqlite")

objects = Table(
    "stix_objects",
    Base.metadata,
    Column("pk", PK, primary_key=True, autoincrement=True),
    Column("stix_id", String(128), nullable=False),
    Column("type", String(64), nullable=False),
    Column("spec_version", String(8), nullable=False),
    Column("created", String(40), nullable=False),
    Column("modified", String(40), nullable=False),
    # Microseconds since the epoch: the same ordering and comparison on every backend.
    Column("modified_us", BigInteger, nullable=False),
    Column("added_us", BigInteger, nullable=False),
    Column("owner_org_id", Integer, ForeignKey("organisations.id"), nullable=False),
    Column("tlp", String(16), nullable=False),
    Column("reach", String(16), nullable=False),
    Column("has_groups", Boolean, nullable=False, default=False),
    Column("origin_node", String(200), nullable=True),
    Column("hop_count", Integer, nullable=False, default=0),
    Column("source", String(200), nullable=True),
    Column("revoked", Boolean, nullable=False, default=False),
    Column("is_latest", Boolean, nullable=False, default=True),
    # Another organisation holds its own copy of this id (see `minga.intel.copies`): readers
    # that may see several copies get one.
    Column("has_copies", Boolean, nullable=False, default=False, server_default=false()),
    Column("search_text", Text, nullable=False, default=""),
    Column("raw", Text, nullable=False),
    # The exercise (its `x_minga_exercise`) a version belongs to: none for real intelligence.
    Column("exercise", String(64), nullable=True),
    # A relationship's two ends (NULL for every other type): its object pages find it by them.
    Column("source_ref", String(128), nullable=True),
    Column("target_ref", String(128), nullable=True),
    UniqueConstraint("stix_id", "owner_org_id", "modified_us", name="uq_stix_objects_version"),
    Index("ix_stix_objects_latest_added", "is_latest", "added_us", "pk"),
    Index("ix_stix_objects_type_added", "type", "is_latest", "added_us", "pk"),
    Index("ix_stix_objects_added", "added_us", "pk"),
    Index("ix_stix_objects_owner", "owner_org_id", "is_latest", "added_us"),
    *(
        Index(
            f"ix_stix_objects_{end}",
            end,
            "added_us",
            sqlite_where=text(f"{end} IS NOT NULL"),
            postgresql_where=text(f"{end} IS NOT NULL"),
        )
        for end in ("source_ref", "target_ref")
    ),
    # At most one latest version per id (and copy), whatever writers race: the database refuses
    # a second.
    Index(
        "uq_stix_objects_latest",
        "stix_id",
        "owner_org_id",
        unique=True,
        sqlite_where=text("is_latest"),
        postgresql_where=text("is_latest"),
    ),
)


def latest_flag(table: Any) -> Any:
    """`is_latest` of `table` (or a named alias) as a bare flag, the very predicate of the
    partial index `uq_stix_objects_latest`, so an id look-up may use that index.

    SQLAlchemy writes `is_latest == true()` as `is_latest = 1` on SQLite: an equality that lets
    the planner walk `ix_stix_objects_latest_added` in date order instead, testing every latest
    row for the id (617 ms at 1M objects). Only for look-ups by id: a page of latest objects
    wants that equality and that date-ordered walk.
    """
    return literal_column(f"{table.name}.is_latest")


# One row: the last position (date_added, µs) given to a stored version. Every object write
# updates it first and holds that row lock (on SQLite: the database write lock) until it commits,
# so positions are handed out in commit order (see `minga.intel.positions`).
positions = Table(
    "stix_positions",
    Base.metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("last_us", BigInteger, nullable=False),
)

object_groups = Table(
    "object_groups",
    Base.metadata,
    Column("object_pk", PK, ForeignKey("stix_objects.pk", ondelete="CASCADE"), primary_key=True),
    Column(
        "group_id",
        Integer,
        ForeignKey("sharing_groups.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    ),
)
