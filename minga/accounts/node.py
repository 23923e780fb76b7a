"""Node settings: which organisation runs the node (its admins are the node operator), and the
node's key for API-token MACs."""

from __future__ import annotations

import secrets

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from minga.accounts.models import NodeSetting, User

OPERATOR_KEY = "operator_org_id"


def operator_org_id(session: Session) -> int | None:
    """The operator organisation: as recorded by `minga init`, else the first admin's."""
    value = session.get(NodeSetting, OPERATOR_KEY)
    if value is not None:
        return int(value.value)
    first_admin = select(func.min(User.id)).where(User.role == "admin").scalar_subquery()
    found: int | None = session.scalar(select(User.org_id).where(User.id == first_admin))
    return found


def set_operator_org(session: Session, org_id: int) -> None:
    row = session.get(NodeSetting, OPERATOR_KEY)
    if row is None:
        session.add(NodeSetting(key=OPERATOR_KEY, value=str(org_id)))
    else:
        row.value = str(org_id)
    session.flush()


TOKEN_KEY = "token_hmac_key"


def token_key(session: Session) -> bytes:
    """The node's secret key for API-token MACs, made at first use (`minga init`, `minga serve`).

    Two processes making it at once both insert-if-absent and read back the one that won."""
    row = session.get(NodeSetting, TOKEN_KEY)
    if row is None:
        values = {"key": TOKEN_KEY, "value": secrets.token_hex(32)}
        insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        session.execute(insert(NodeSetting).values(values).on_conflict_do_nothing())
        row = session.get(NodeSetting, TOKEN_KEY, populate_existing=True)
        assert row is not None  # inserted now, or by the process that won
    return bytes.fromhex(row.value)
