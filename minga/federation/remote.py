"""Organisations of other nodes, as this node knows them: read-only, marked with their node.

A peer node is one (the organisation that runs it); every organisation that published
something there and whose identity arrived here is another. They are never edited here, hold
no people (only the peer's machine account), and sharing groups name them like any other.
Unlike a member organisation, no STIX identity is published for them here: theirs comes,
signed, from their own node.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from minga import audit
from minga.accounts.models import Organisation
from minga.accounts.places import UNKNOWN_COUNTRY, UNKNOWN_SECTOR, is_country, sector_key
from minga.federation.signing import SignatureRejected

_COUNTRY = re.compile(r"^[A-Z]{2}$")


def clean_country(value: str | None) -> str:
    """A country another node states: kept when it is an ISO 3166-1 country, else ZZ."""
    value = (value or "").strip().upper()
    return value if _COUNTRY.match(value) and is_country(value) else UNKNOWN_COUNTRY


def clean_sector(value: str | None) -> str:
    """A sector another node states, as this node's key; `unknown` when it names none."""
    return sector_key(value or "") or UNKNOWN_SECTOR


def _free_name(session: Session, name: str, node: str) -> str:
    """`name`, or `name (node)` (then numbered) when a local organisation already has it."""
    candidates = [name[:200], f"{name} ({node})"[:200]]
    candidates += [f"{name} ({node} {n})"[:200] for n in range(2, 100)]
    for candidate in candidates:
        if session.scalar(select(Organisation.id).where(Organisation.name == candidate)) is None:
            return candidate
    return f"{node} {uuid.uuid4().hex[:8]}"


def ensure_remote_organisation(
    session: Session,
    *,
    node: str,
    identity_ref: str | None,
    name: str,
    country: str | None = None,
    sector: str | None = None,
    kind: str = "csirt",
) -> Organisation:
    """The organisation of `node` with this STIX identity, made the first time it is named.

    An identity that belongs to a local organisation or to another node's is spoofed
    (`SignatureRejected`): a node speaks only for its own organisations.
    """
    if identity_ref is not None:
        org = session.scalar(select(Organisation).where(Organisation.identity_ref == identity_ref))
        if org is not None:
            if org.remote_node != node:
                where = "this node" if org.remote_node is None else f"node {org.remote_node}"
                raise SignatureRejected(
                    f"the identity {identity_ref} belongs to an organisation of {where},"
                    f" not of node {node}"
                )
            return org
    org = Organisation(
        name=_free_name(session, name.strip() or node, node),
        country=clean_country(country),
        sector=clean_sector(sector),
        kind=kind,
        description=f"Organisation of the federated node {node}.",
        identity_ref=identity_ref or f"identity--{uuid.uuid4()}",
        created_at=datetime.now(UTC),
        remote_node=node,
    )
    session.add(org)
    session.flush()
    audit.record(
        session,
        None,
        "organisation.remote",
        "organisation",
        org.id,
        subject_org_id=org.id,
        name=org.name,
        node=node,
    )
    return org


def remote_label(org: Organisation) -> str:
    """How lists mark an organisation: `remote (node X)`, or empty for a member."""
    return f"remote (node {org.remote_node})" if org.remote_node is not None else ""
