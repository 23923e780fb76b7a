"""The publish forms offer only the sharing groups the caller's organisation belongs to."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from minga.accounts import service as accounts
from tests.conftest import Member, add_member
from tests.web.conftest import sign_in

GROUP_RE = re.compile(r'<label for="group-(\d+)">([^<]+)</label>')


def _groups(sessions: sessionmaker[Session]) -> tuple[Member, dict[str, int]]:
    """A coordinator of A; groups A owns, B owns with A in it, and B owns without A."""
    a = add_member(sessions, "Org A", role="coordinator")
    b, c = add_member(sessions, "Org B"), add_member(sessions, "Org C")
    ids: dict[str, int] = {}
    with sessions() as s:
        for name, owner, members in (
            ("A own", a, []),
            ("B with A", b, [a.org_id]),
            ("B and C", b, [c.org_id]),
        ):
            group = accounts.create_group(
                s, None, name=name, owner_org_id=owner.org_id, member_org_ids=members
            )
            ids[name] = group.id
        s.commit()
    return a, ids


def test_only_groups_of_the_callers_organisation_are_offered(
    client: TestClient, sessions: sessionmaker[Session]
):
    a, ids = _groups(sessions)
    with sessions() as s:
        offered = accounts.groups_to_share_with(s, a.principal)
    assert [g.name for g in offered] == ["A own", "B with A"]

    sign_in(client, a.token)
    for page in ("/publish/indicator", "/publish/report"):
        html = client.get(page, headers={"Accept-Language": "en"}).text
        assert GROUP_RE.findall(html) == [
            (str(ids["A own"]), "A own"),
            (str(ids["B with A"]), "B with A"),
        ]


def test_a_reader_is_offered_no_group(sessions: sessionmaker[Session]):
    _, _ = _groups(sessions)
    reader = add_member(sessions, "Org D", role="reader")
    with sessions() as s:
        group = accounts.create_group(
            s, None, name="D own", owner_org_id=reader.org_id, member_org_ids=[]
        )
        s.commit()
        # D belongs to "D own", but a reader may not publish, so it may share with none.
        assert group.member_org_ids == (reader.org_id,)
        assert accounts.groups_to_share_with(s, reader.principal) == []
