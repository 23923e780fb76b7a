"""Loading ATT&CK (Enterprise, ICS, Mobile), KEV and MISP taxonomies from the fixtures: stored as
the node's own at TLP:CLEAR, re-loaded cleanly, newer releases adding versions; both backends."""

from __future__ import annotations

import copy
from pathlib import Path

import orjson
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from minga.errors import InvalidInput
from minga.intel import service as intel
from minga.intel.models import objects
from minga.knowledge import kev, service
from minga.knowledge.models import Entry, Release
from minga.knowledge.store import Loaded, store_objects
from minga.policy import Reach, Tlp
from tests.conftest import Member, add_member
from tests.knowledge.conftest import FIXTURES

LINK = "attack-pattern--2b742742-28c3-4e1b-bab7-8350d6300fa7"
COMPONENT = "x-mitre-data-component--3d20385b-24ef-40e1-9f56-f39750379077"


def update(sessions: sessionmaker[Session], what: str, where: Path | str):
    with sessions() as s:
        done = service.update(s, what, str(where))
        s.commit()
    return done


def test_attack_enterprise_from_a_directory_of_per_object_files(
    sessions: sessionmaker[Session], operator: Member
):
    (done,) = update(sessions, "attack", FIXTURES / "enterprise-attack")
    assert (done.objects, done.created, done.existing, done.entries) == (6, 6, 0, 3)
    assert (done.refused_count, done.release) == (0, "enterprise as of 2022-04-19")
    reader = add_member(sessions, "Member M", role="reader")
    with sessions() as s:
        found = service.techniques(s, ["T1566.002", "T1566", "T9999"])
        assert set(found) == {"T1566.002", "T1566"}
        link = found["T1566.002"]
        assert (link.name, link.tactics, link.stix_id) == (
            "Spearphishing Link", ("Initial Access",), LINK,
        )  # fmt: skip
        got = intel.get_object(s, reader.principal, LINK)  # every member sees it
        assert (got.owner_org_id, got.tlp, got.reach) == (
            operator.org_id, Tlp.CLEAR, Reach.COMMUNITY,
        )  # fmt: skip
        assert got.object()["spec_version"] == "2.1"  # upgraded from STIX 2.0
        release = s.get(Release, "attack-enterprise")
        assert release is not None and release.release == "as of 2022-04-19"
        assert release.location == str(FIXTURES / "enterprise-attack")
    (again,) = update(sessions, "attack", FIXTURES / "enterprise-attack")
    assert (again.created, again.existing) == (0, 6)


def test_a_newer_release_repairs_the_quirk_and_adds_only_what_changed(
    sessions: sessionmaker[Session], operator: Member
):
    update(sessions, "attack", FIXTURES / "enterprise-attack")
    (done,) = update(sessions, "attack", FIXTURES / "enterprise-attack-newer.json")
    assert (done.created, done.existing, done.repaired, done.refused_count) == (1, 5, 1, 0)
    with sessions() as s:
        got = intel.get_object(s, operator.principal, COMPONENT).object()
        assert got["modified"] == "2025-11-12T22:03:39.105Z"
        assert "x_mitre_data_source_ref" not in got
        rows = s.execute(select(objects.c.stix_id, objects.c.revoked, objects.c.is_latest)).all()
    assert not any(revoked for _, revoked, _ in rows)  # nothing revoked by the newer release
    assert sum(1 for sid, _, latest in rows if sid == COMPONENT and latest) == 1
    assert sum(1 for sid, _, _ in rows if sid == COMPONENT) == 2


def test_ics_and_mobile_bundles(sessions: sessionmaker[Session], operator: Member):
    (ics,) = update(sessions, "attack", FIXTURES / "ics-attack.json")
    (mobile,) = update(sessions, "attack", FIXTURES / "mobile-attack.json")
    assert (ics.created, mobile.created) == (3, 1)  # the identity and marking are shared
    with sessions() as s:
        t0803 = s.scalar(select(Entry).where(Entry.kind == "technique", Entry.key == "T0803"))
        assert t0803 is not None and orjson.loads(t0803.data)["revoked"] is True
        assert orjson.loads(t0803.data)["domain"] == "ics-attack"
        ta0027 = s.scalar(select(Entry).where(Entry.kind == "tactic", Entry.key == "TA0027"))
        assert ta0027 is not None and orjson.loads(ta0027.data)["domain"] == "mobile-attack"
        sources = {r.source: r.release for r in service.releases(s)}
    assert sources == {"attack-ics": "as of 2026-04-20", "attack-mobile": "as of 2020-01-27"}


def test_kev_catalogue_and_a_newer_one(
    sessions: sessionmaker[Session], operator: Member, tmp_path: Path
):
    (done,) = update(sessions, "kev", FIXTURES / "kev.json")
    assert (done.release, done.objects, done.created, done.entries) == ("2025.02.25", 5, 5, 4)
    with sessions() as s:
        found = service.known_exploited(s, ["cve-2024-53704", "CVE-2021-44228"])
        assert list(found) == ["CVE-2024-53704"]
        sonic = found["CVE-2024-53704"]
        assert (sonic.date_added, sonic.vendor_project, sonic.product) == (
            "2025-02-18", "SonicWall", "SonicOS",
        )  # fmt: skip
        vuln = intel.get_object(s, operator.principal, kev.stix_id("CVE-2024-53704")).object()
        assert vuln["name"] == "CVE-2024-53704" and vuln["created_by_ref"] == kev.CISA_ID
        assert vuln["x_cisa_kev"]["date_added"] == "2025-02-18"
    (again,) = update(sessions, "kev", FIXTURES / "kev.json")
    assert (again.created, again.existing) == (0, 5)
    newer = orjson.loads((FIXTURES / "kev.json").read_bytes())
    newer = copy.deepcopy(newer)
    newer["catalogVersion"], newer["dateReleased"] = "2025.03.03", "2025-03-03T15:00:00.0000Z"
    newer["vulnerabilities"][3]["knownRansomwareCampaignUse"] = "Known"
    (tmp_path / "kev.json").write_bytes(orjson.dumps(newer))
    (later,) = update(sessions, "kev", tmp_path / "kev.json")
    assert (later.created, later.existing, later.release) == (1, 4, "2025.03.03")
    with sessions() as s:
        vuln = intel.get_object(s, operator.principal, kev.stix_id("CVE-2024-53704")).object()
        assert vuln["modified"] == "2025-03-03T15:00:00.000Z"
        assert service.known_exploited(s, ["CVE-2024-53704"])["CVE-2024-53704"].ransomware == (
            "Known"
        )


def test_misp_taxonomies_and_galaxies(
    sessions: sessionmaker[Session], operator: Member, tmp_path: Path
):
    (done,) = update(sessions, "misp-taxonomies", FIXTURES / "misp-taxonomies")
    assert (done.source, done.release, done.entries) == (
        "misp-taxonomies",
        "1 taxonomies, 5 tags",
        1,
    )
    cluster = {  # the shape of misp-galaxy clusters/*.json, made up for this test
        "name": "Sector", "type": "sector", "uuid": "84668357-5a8c-4bdd-9f0f-6b50b2aee4c1",
        "version": 1, "description": "Activity sectors",
        "values": [{"value": "Energy", "uuid": "8a8d1b5c-2f40-4c4f-9a5e-0c3d3c1d7a10"}],
    }  # fmt: skip
    (tmp_path / "sector.json").write_bytes(orjson.dumps(cluster))
    (galaxy,) = update(sessions, "misp-taxonomies", tmp_path)
    assert (galaxy.source, galaxy.entries) == ("misp-galaxies", 1)
    with sessions() as s:
        tlp = s.scalar(select(Entry).where(Entry.kind == "taxonomy", Entry.key == "tlp"))
        assert tlp is not None and "tlp:red" in orjson.loads(tlp.data)["tags"]


def test_all_from_one_directory(sessions: sessionmaker[Session], operator: Member):
    done = update(sessions, "all", FIXTURES)
    assert [d.source for d in done] == ["attack", "kev", "misp-taxonomies"]
    with sessions() as s:
        assert {r.source for r in service.releases(s)} == {
            "attack-enterprise", "attack-ics", "attack-mobile", "kev", "misp-taxonomies",
        }  # fmt: skip


def test_from_a_url(sessions: sessionmaker[Session], operator: Member, served: str):
    (done,) = update(sessions, "kev", f"{served}/kev.json")
    assert done.created == 5
    with sessions() as s:
        release = s.get(Release, "kev")
        assert release is not None and release.location == f"{served}/kev.json"
        # Without --from, the next update goes back to where it was loaded from.
        (again,) = service.update(s, "kev")
        assert again.existing == 5


@pytest.mark.parametrize(
    ("what", "where", "message"),
    [
        ("kev", FIXTURES / "ics-attack.json", "no KEV catalogue"),
        ("attack", FIXTURES / "kev.json", "no ATT&CK STIX objects"),
        ("attack", FIXTURES / "missing.json", "no such file or directory"),
        ("cwe", FIXTURES, "unknown knowledge 'cwe'"),
        ("misp-taxonomies", None, "give --from"),
    ],
)
def test_bad_input_is_a_sentence(
    sessions: sessionmaker[Session], operator: Member, what: str, where: Path | None, message: str
):
    with sessions() as s, pytest.raises(InvalidInput) as caught:
        service.update(s, what, str(where) if where else None)
    assert message in caught.value.message


def test_a_node_without_an_operator_is_told_to_init(sessions: sessionmaker[Session]):
    with sessions() as s, pytest.raises(InvalidInput) as caught:
        service.update(s, "kev", str(FIXTURES / "kev.json"))
    assert "run `minga init` first" in caught.value.message


def test_all_without_from_reloads_each_url_and_skips_what_needs_a_file(
    sessions: sessionmaker[Session], operator: Member, served: str
):
    update(sessions, "attack", f"{served}/enterprise-attack-newer.json")
    update(sessions, "kev", f"{served}/kev.json")
    update(sessions, "misp-taxonomies", FIXTURES / "misp-taxonomies")
    with sessions() as s:
        done = service.update(s, "all")  # no --from: the recorded URLs, never the internet here
    assert [(d.source, d.created) for d in done] == [("attack", 0), ("kev", 0)]


def test_a_bundle_holding_a_non_object_is_refused_with_a_sentence(
    sessions: sessionmaker[Session], operator: Member, tmp_path: Path
):
    (tmp_path / "broken.json").write_bytes(orjson.dumps({"type": "bundle", "objects": ["x"]}))
    with sessions() as s, pytest.raises(InvalidInput) as caught:
        service.update(s, "attack", str(tmp_path / "broken.json"))
    assert "holds an object that is not a JSON object" in caught.value.message


def test_an_object_shipped_in_two_domains_is_stored_once_not_refused(
    sessions: sessionmaker[Session], operator: Member
):
    shared = FIXTURES / "shared-across-domains"
    (enterprise,) = update(sessions, "attack", shared / "enterprise-attack")
    (mobile,) = update(sessions, "attack", shared / "mobile-attack")
    assert (enterprise.created, enterprise.refused_count) == (2, 0)  # + tactic TA0001
    assert (mobile.created, mobile.existing, mobile.refused_count) == (1, 1, 0)  # + TA0027
    # Another object under the same id and `modified` is still a conflict, refused.
    (path,) = (shared / "mobile-attack").rglob("intrusion-set--*.json")
    other = orjson.loads(path.read_bytes())["objects"][0]
    other["name"] = "Not PROMETHIUM"
    with sessions() as s:
        outcome = Loaded("attack-mobile", "test")
        store_objects(s, [other], outcome, "test")
    assert (outcome.existing, outcome.refused_count) == (0, 1)
