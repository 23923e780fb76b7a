"""Node settings: which organisation runs the node (its admins are the node operator)."""

from __future__ import annotations

from sqlalchemy import func, select
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
