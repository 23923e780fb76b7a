"""Dashboards, lists and counts show an id once, however many copies of it a reader may see."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from minga.accounts import service as accounts
from minga.intel import service as intel
from minga.intel import stats
from minga.intel.service import ObjectQuery
from minga.policy import Reach, Tlp
from tests.conftest import Member, add_member, refresh
from tests.factories import indicator
from tests.intel.test_copies import ipv4
from tests.web.conftest import sign_in


def _two_copies_seen_by_c(
    sessions: sessionmaker[Session], b_first: list[dict] | None = None, a_then: list[dict] = ()
) -> tuple[Member, Member, Member]:
    """A and B each hold a copy of one observable (shared with groups that keep each copy from
    the other organisation); C, in both groups, may see both."""
    a, b, c = (add_member(sessions, n) for n in ("Org A", "Org B", "Org C"))
    with sessions() as s:
        ga = accounts.create_group(
            s, None, name="A+C", owner_org_id=a.org_id, member_org_ids=[c.org_id]
        )
        gb = accounts.create_group(
            s, None, name="B+C", owner_org_id=b.org_id, member_org_ids=[c.org_id]
        )
        s.commit()
    a, b, c = (refresh(sessions, m) for m in (a, b, c))
    again = [{k: v for k, v in o.items() if k != "created_by_ref"} for o in b_first or []]
    writes = [(b, gb, b_first or []), (a, ga, [ipv4(), *again]), (a, ga, list(a_then))]
    writes.append((b, gb, [ipv4()]))
    for member, group, items in writes:
        with sessions() as s:
            intel.create_objects(
                s,
                member.principal,
                items,
                tlp=Tlp.GREEN,
                reach=Reach.COMMUNITY,
                group_ids=[group.id],
            )
            s.commit()
    return a, b, c


def test_counts_and_lists_show_a_copied_id_once(sessions: sessionmaker[Session]):
    a, b, c = _two_copies_seen_by_c(sessions)
    oid = ipv4()["id"]
    only = ObjectQuery(types=["ipv4-addr"])
    with sessions() as s:
        # Both copies are stored, and C may see each of them.
        every = intel.list_objects(s, c.principal, ObjectQuery(types=["ipv4-addr"], one_copy=False))
        assert sorted(o.owner_org_id for o in every.items) == sorted([a.org_id, b.org_id])
        summary = stats.recent_summary(s, c.principal, only)
        counted = stats.capped_count(s, c.principal, only, cap=10)
        newest = stats.newest(s, c.principal, only, not_owner=c.org_id)
        named = stats.visible_by_ids(s, c.principal, [oid])
    assert (summary.examined, dict(summary.by_type)) == (1, {"ipv4-addr": 1})
    assert counted == 1
    assert [o.stix_id for o in newest] == [oid]
    assert [o.stix_id for o in named] == [oid]


def test_the_dashboard_and_object_list_show_a_copied_id_once(
    client: TestClient, sessions: sessionmaker[Session]
):
    _, _, c = _two_copies_seen_by_c(sessions)
    oid = ipv4()["id"]
    sign_in(client, c.token)
    dashboard = client.get("/", headers={"Accept-Language": "en"}).text
    assert dashboard.count(f'href="/objects/{oid}"') == 1
    listed = client.get("/objects?type=ipv4-addr").text
    assert listed.count(f'href="/objects/{oid}"') == 1


def test_copies_whose_latest_versions_differ_are_named_once(sessions: sessionmaker[Session]):
    """B's copy of v1 was stored first; A's copy goes on to v2: C gets A's v2 only."""
    v1, v2 = indicator(1), indicator(1, modified="2024-03-02T00:00:00.000Z")
    _, _, c = _two_copies_seen_by_c(sessions, b_first=[v1], a_then=[v2])
    with sessions() as s:
        named = stats.visible_by_ids(s, c.principal, [v1["id"]])
        listed = stats.newest(s, c.principal, ObjectQuery(types=["indicator"]))
    assert [(o.stix_id, o.version) for o in named] == [(v1["id"], v2["modified"])]
    assert [(o.stix_id, o.version) for o in listed] == [(v1["id"], v2["modified"])]
