"""Correlation over visible objects only: equal values, an IP inside a CIDR, a URL's host,
subdomains; common values, exclusions and warninglists — on both backends."""

from __future__ import annotations

import orjson
import pytest
from sqlalchemy.orm import Session, sessionmaker

from minga.correlate import exclusions, lookup, warninglists
from minga.errors import Forbidden
from minga.intel import service as intel
from minga.policy import Reach, Tlp
from tests.conftest import Member, add_member
from tests.factories import indicator, sid


def _publish(
    sessions: sessionmaker[Session],
    member: Member,
    n: int,
    pattern: str,
    tlp: Tlp = Tlp.GREEN,
    reach: Reach = Reach.COMMUNITY,
) -> None:
    with sessions() as s:
        intel.create_objects(
            s, member.principal, [indicator(n, pattern=pattern)], tlp=tlp, reach=reach
        )
        s.commit()


@pytest.fixture
def community(sessions: sessionmaker[Session]) -> dict[str, Member]:
    a = add_member(sessions, "CSIRT-CR", country="CR")
    b = add_member(sessions, "CSIRT-GT", country="GT")
    c = add_member(sessions, "Bank CR", country="CR")
    _publish(sessions, a, 1, "[ipv4-addr:value = '198.51.100.7']")
    _publish(sessions, b, 2, "[ipv4-addr:value = '198.51.100.0/24']")
    _publish(sessions, b, 3, "[url:value = 'http://EVIL.example/x']")
    _publish(sessions, c, 4, "[domain-name:value = 'evil.example']", tlp=Tlp.AMBER_STRICT)
    _publish(sessions, a, 5, "[domain-name:value = 'sub.evil.example']")
    _publish(sessions, c, 6, "[ipv4-addr:value = '198.51.100.7']", reach=Reach.ORGANISATION)
    _publish(sessions, b, 7, "[ipv4-addr:value = '198.51.100.7']")
    return {"a": a, "b": b, "c": c}


def _found(result: lookup.Correlation) -> set[tuple[str, str]]:
    return {(m.stix_id, m.relation) for m in result.matches}


def test_an_address_correlates_with_equal_values_and_networks_holding_it(
    sessions: sessionmaker[Session], community: dict[str, Member]
) -> None:
    with sessions() as s:
        [seen] = lookup.lookup(s, community["a"].principal, ["198.51.100.7"])
        assert _found(seen) == {
            (sid("indicator", 1), "same"),
            (sid("indicator", 7), "same"),
            (sid("indicator", 2), "contains"),
        }
        # The hidden copy of Bank CR is not counted: two organisations, two countries.
        assert (seen.objects, seen.organisations, seen.countries) == (3, 2, 2)
        assert seen.reported_by == ["CSIRT-CR", "CSIRT-GT"]
        assert seen.first_reported and seen.last_reported
        [own] = lookup.lookup(s, community["c"].principal, ["198.51.100.7"])
        assert (own.objects, own.organisations, own.countries) == (4, 3, 2)
        [net] = lookup.lookup(s, community["a"].principal, ["198.51.100.0/24"])
        assert _found(net) == {
            (sid("indicator", 2), "same"),
            (sid("indicator", 1), "within"),
            (sid("indicator", 7), "within"),
        }


def test_a_domain_correlates_with_urls_and_subdomains_the_caller_may_see(
    sessions: sessionmaker[Session], community: dict[str, Member]
) -> None:
    with sessions() as s:
        [dom] = lookup.lookup(s, community["a"].principal, ["Evil[.]Example"])
        assert dom.value == "evil.example"
        assert _found(dom) == {(sid("indicator", 3), "within"), (sid("indicator", 5), "within")}
        [own] = lookup.lookup(s, community["c"].principal, ["evil.example"])
        assert (sid("indicator", 4), "same") in _found(own) and own.objects == 3
        # A URL is correlated with the domains that hold its host (visible ones only).
        [url] = lookup.lookup(s, community["c"].principal, ["hxxp://sub.evil.example/login"])
        assert _found(url) == {(sid("indicator", 4), "contains"), (sid("indicator", 5), "contains")}
        [sub] = lookup.lookup(s, community["b"].principal, ["a.sub.evil.example"])
        assert _found(sub) == {(sid("indicator", 5), "contains")}


def test_common_values_are_counted_not_expanded(
    sessions: sessionmaker[Session], community: dict[str, Member]
) -> None:
    with sessions() as s:
        [seen] = lookup.lookup(s, community["a"].principal, ["198.51.100.7"], limit=2)
        assert seen.common and seen.matches == [] and seen.objects == 3


def test_an_object_correlates_without_itself(
    sessions: sessionmaker[Session], community: dict[str, Member]
) -> None:
    with sessions() as s:
        item = intel.get_object(s, community["a"].principal, sid("indicator", 1))
        [found] = lookup.correlate_object(s, community["a"].principal, item.pk, item.stix_id)
        assert _found(found) == {(sid("indicator", 7), "same"), (sid("indicator", 2), "contains")}


def test_excluded_values_are_not_correlated(
    sessions: sessionmaker[Session], community: dict[str, Member]
) -> None:
    with sessions() as s, pytest.raises(Forbidden):
        exclusions.add_exclusion(s, community["a"].principal, "198.51.100.7")
    with sessions() as s:
        exclusions.add_exclusion(s, None, "198.51.100.7", "a sinkhole")
        s.commit()
    with sessions() as s:
        [seen] = lookup.lookup(s, community["a"].principal, ["198.51.100.7"])
        assert seen.excluded and seen.matches == [] and seen.objects == 0
        [net] = lookup.lookup(s, community["a"].principal, ["198.51.100.0/24"])
        assert not net.excluded and net.objects == 3
        exclusions.remove_exclusion(s, None, "198.51.100.7")
        s.commit()
    with sessions() as s:
        [seen] = lookup.lookup(s, community["a"].principal, ["198.51.100.7"])
        assert not seen.excluded and seen.objects == 3


MISP_LIST = {
    "name": "List of known hosting of the test community",
    "version": 20241201,
    "description": "Test hosts",
    "matching_attributes": ["hostname", "domain", "url"],
    "type": "hostname",
    "list": ["Shared-Hosting.NET.", "other-hosting.net"],
}
URL = "http://files.shared-hosting.net/a.php"


def test_warninglists_flag_values_built_in_and_imported(
    sessions: sessionmaker[Session], community: dict[str, Member]
) -> None:
    me = community["a"].principal
    with sessions() as s:
        found = lookup.lookup(s, me, ["8.8.8.8", URL, "evil.example"])
        assert found[0].warninglists == [warninglists.BUILT_IN]  # a public resolver
        assert found[1].warninglists == []
        assert found[2].warninglists == [warninglists.BUILT_IN]  # a reserved name
        imported = warninglists.import_list(s, None, orjson.dumps(MISP_LIST))
        assert imported.entries == 2 and imported.list_type == "hostname"
        cidr = {"name": "Test resolvers", "type": "cidr", "list": ["45.155.205.0/25"]}
        warninglists.import_list(s, None, orjson.dumps(cidr))
        s.commit()
    with sessions() as s:
        found = lookup.lookup(s, me, [URL, "45.155.205.7", "45.155.205.200"])
        assert found[0].warninglists == [MISP_LIST["name"]]
        assert found[1].warninglists == ["Test resolvers"]
        assert found[2].warninglists == []
        # A newer release replaces the list.
        newer = {**MISP_LIST, "list": ["other-hosting.net"]}
        warninglists.import_list(s, None, orjson.dumps(newer))
        s.commit()
        [again] = lookup.lookup(s, me, [URL])
        assert again.warninglists == []
        assert [w.entries for w in warninglists.list_lists(s)] == [1, 1]


def test_urls_on_an_address_are_inside_it_and_its_networks(
    sessions: sessionmaker[Session], community: dict[str, Member]
) -> None:
    _publish(sessions, community["b"], 8, "[url:value = 'http://198.51.100.7:8080/gate']")
    with sessions() as s:
        [ip] = lookup.lookup(s, community["a"].principal, ["198.51.100.7"])
        assert (sid("indicator", 8), "within") in _found(ip)
        [net] = lookup.lookup(s, community["a"].principal, ["198.51.100.0/25"])
        assert (sid("indicator", 8), "within") in _found(net)
        [url] = lookup.lookup(s, community["a"].principal, ["http://198.51.100.7:8080/gate"])
        assert _found(url) == {
            (sid("indicator", 8), "same"),
            (sid("indicator", 1), "contains"),
            (sid("indicator", 7), "contains"),
            (sid("indicator", 2), "contains"),
        }
