"""Indicators stored through the intel service for feed tests: two reporting organisations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from minga.accounts.models import Organisation
from minga.intel import service
from minga.policy import Reach, Tlp
from tests.conftest import Member, add_member
from tests.factories import indicator


@dataclass
class Community:
    gt: Member  # CSIRT-GT, government, Guatemala: publishes
    hn: Member  # Bank-HN, finance, Honduras: publishes and reads


def finance_member(sessions: sessionmaker[Session], name: str, country: str) -> Member:
    member = add_member(sessions, name, country=country)
    with sessions() as s:
        org = s.get(Organisation, member.org_id)
        assert org is not None
        org.sector = "finance"
        s.commit()
    return member


def publish(
    session: Session,
    member: Member,
    n: int,
    pattern: str,
    *,
    tlp: Tlp = Tlp.AMBER,
    reach: Reach = Reach.COMMUNITY,
    **extra: object,
) -> str:
    # Dated now: with scores on, an indicator dated years ago has decayed past its validity
    # and feeds leave it out (tests of expiry date theirs explicitly).
    extra.setdefault("modified", _now())
    obj = indicator(n, pattern=pattern, **extra)
    service.create_objects(session, member.principal, [obj], tlp=tlp, reach=reach)
    return str(obj["id"])


def community(sessions: sessionmaker[Session]) -> Community:
    gt = add_member(sessions, "CSIRT-GT", country="GT")
    hn = finance_member(sessions, "Bank-HN", "HN")
    return Community(gt, hn)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
