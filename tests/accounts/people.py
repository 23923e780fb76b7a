"""More accounts in an existing organisation (conftest's `add_member` makes a new one each time)."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from minga.accounts import service as accounts
from tests.conftest import Member


def add_user(sessions: sessionmaker[Session], org_id: int, name: str, role: str) -> Member:
    """A user of `org_id` with a node-local token (the command line is the node operator)."""
    with sessions() as s:
        user = accounts.create_user(s, None, org_id=org_id, name=name, role=role)
        _, issued = accounts.issue_token(s, None, user_id=user.id)
        principal = accounts.principal_for(s, user)
        s.commit()
    return Member(org_id, user.id, issued.token, principal)
