"""A small community: a victim company, its sector ISAC, the national CSIRT that runs the node
(the coordinator), and an outsider; each with one analyst and a token."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from sqlalchemy.orm import Session, sessionmaker

from minga.accounts.node import set_operator_org
from tests.conftest import Member, add_member, refresh

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


@dataclass
class Community:
    victim: Member
    isac: Member
    csirt: Member  # the node's operator organisation: the coordinator
    outsider: Member


@pytest.fixture
def community(sessions: sessionmaker[Session]) -> Community:
    csirt = add_member(sessions, "CSIRT Nacional")
    with sessions() as s:
        set_operator_org(s, csirt.org_id)
        s.commit()
    return Community(
        victim=add_member(sessions, "Banco Victima"),
        isac=add_member(sessions, "ISAC Financiero"),
        csirt=refresh(sessions, csirt),
        outsider=add_member(sessions, "Otra Empresa"),
    )


class PinnedClock:
    """The `now` incident adapters read; tests move it."""

    def __init__(self, at: datetime = T0) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at
