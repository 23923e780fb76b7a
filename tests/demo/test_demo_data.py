"""Consistency checks for the demo community data set (minga/demo/community.json)."""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
import uuid
from collections import Counter
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

import pytest
import stix2
from stix2patterns.v21.pattern import Pattern

TLPS = {"clear", "green", "amber", "amber+strict", "red"}
REACHES = {"organisation", "community", "connected", "federation"}
KINDS = {"government", "csirt", "private", "academia", "civil-society"}
COUNTRIES = {"CR", "GT", "CO", "MX", "DO"}
NATIONAL_KEYS = {"hub", "csirt-cr", "csirt-gt", "colcert", "csirt-mx", "csirt-do"}

DOC_NETS = [
    ipaddress.ip_network(n)
    for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")
]
RESERVED_SUFFIXES = (".example", ".test", ".example.com", ".example.org", ".example.net")
RESERVED_NAMES = {"example", "test", "example.com", "example.org", "example.net"}

# TLP 2.0 / 1.0 marking-definition ids that must never appear in the data (loader adds them).
TLP_MARKING_IDS = {
    "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9",
    "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
    "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",
    "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed",
    "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}

TS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
HEX64_RE = re.compile(r"^[0-9a-f]{64}$")
DEMO_LABEL_RE = re.compile(r"sha256\('(minga-demo:[a-z0-9-]+)'\)")


@pytest.fixture(scope="module")
def data() -> dict[str, Any]:
    text = resources.files("minga.demo").joinpath("community.json").read_text(encoding="utf-8")
    return json.loads(text)


@pytest.fixture(scope="module")
def orgs(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {o["key"]: o for o in data["organisations"]}


@pytest.fixture(scope="module")
def stix_objects(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [entry["object"] for entry in data["objects"]]


def _is_uuid4(value: str) -> bool:
    try:
        u = uuid.UUID(value)
    except ValueError:
        return False
    return u.version == 4 and str(u) == value


def _iter_refs(value: Any, key: str = ""):
    """Yield (property, ref) for every *_ref / *_refs property, recursively."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _iter_refs(v, k)
    elif isinstance(value, list):
        for item in value:
            yield from _iter_refs(item, key)
    elif isinstance(value, str) and (key.endswith("_ref") or key.endswith("_refs")):
        yield key, value


def _host_allowed(host: str) -> bool:
    host = host.lower().rstrip(".")
    return host in RESERVED_NAMES or host.endswith(RESERVED_SUFFIXES)


def _ip_allowed(value: str) -> bool:
    net = ipaddress.ip_network(value, strict=False)
    return any(net.version == d.version and net.subnet_of(d) for d in DOC_NETS)


def test_top_level_shape(data: dict[str, Any]) -> None:
    assert set(data) == {"organisations", "users", "groups", "objects"}
    assert 60 <= len(data["objects"]) <= 95


def test_organisations(data: dict[str, Any], orgs: dict[str, dict[str, Any]]) -> None:
    keys = [o["key"] for o in data["organisations"]]
    assert len(keys) == len(set(keys))
    assert set(keys) >= NATIONAL_KEYS
    assert 3 <= len(set(keys) - NATIONAL_KEYS) <= 5
    identities = [o["identity"] for o in data["organisations"]]
    assert len(identities) == len(set(identities))
    for org in data["organisations"]:
        assert set(org) == {"key", "name", "country", "sector", "kind", "identity", "description"}
        assert org["kind"] in KINDS, org
        assert re.fullmatch(r"[A-Z]{2}", org["country"]), org
        assert re.fullmatch(r"[a-z]+", org["sector"]), org
        assert org["identity"].startswith("identity--")
        assert _is_uuid4(org["identity"].removeprefix("identity--")), org["identity"]
        assert org["name"] and org["description"]
    assert {o["country"] for o in data["organisations"]} >= COUNTRIES


def test_users_and_groups(data: dict[str, Any], orgs: dict[str, dict[str, Any]]) -> None:
    names = [u["name"] for u in data["users"]]
    assert len(names) == len(set(names))
    for user in data["users"]:
        assert user["org"] in orgs, user
        assert user["role"]
    assert {u["org"] for u in data["users"]} == set(orgs), "every organisation has a user"
    group_names = [g["name"] for g in data["groups"]]
    assert len(group_names) == len(set(group_names))
    for group in data["groups"]:
        assert group["members"], group["name"]
        assert len(group["members"]) == len(set(group["members"]))
        for member in group["members"]:
            assert member in orgs, (group["name"], member)


def test_object_entries(data: dict[str, Any], orgs: dict[str, dict[str, Any]]) -> None:
    groups = {g["name"]: set(g["members"]) for g in data["groups"]}
    for entry in data["objects"]:
        assert set(entry) == {"owner", "tlp", "reach", "groups", "object"}
        assert entry["owner"] in orgs, entry["owner"]
        assert entry["tlp"] in TLPS, entry["tlp"]
        assert entry["reach"] in REACHES, entry["reach"]
        for name in entry["groups"]:
            assert name in groups, name
            assert entry["owner"] in groups[name], (entry["object"]["id"], name)
        obj = entry["object"]
        assert obj["created_by_ref"] == orgs[entry["owner"]]["identity"], obj["id"]


def test_sharing_mix(data: dict[str, Any]) -> None:
    entries = data["objects"]
    tlps = Counter(e["tlp"] for e in entries)
    assert tlps["clear"] + tlps["green"] > len(entries) / 2
    assert tlps["amber"] >= 3
    strict = [e for e in entries if e["tlp"] == "amber+strict"]
    assert len(strict) >= 2
    assert all(e["owner"] == "ccss-si" and e["reach"] == "organisation" for e in strict)
    red = [e for e in entries if e["tlp"] == "red"]
    # RED goes to named recipients only: a sharing group, within this node.
    assert red and all(e["groups"] and e["reach"] == "community" for e in red)
    assert any(e["groups"] and e["tlp"] != "red" for e in entries)
    assert len({e["owner"] for e in entries}) >= 8


def test_every_object_is_valid_stix21(stix_objects: list[dict[str, Any]]) -> None:
    for obj in stix_objects:
        parsed = stix2.parse(obj, allow_custom=False)
        assert parsed["spec_version"] == "2.1"
        assert obj["type"] not in {"marking-definition", "extension-definition"}


def test_ids_and_timestamps(
    stix_objects: list[dict[str, Any]], orgs: dict[str, dict[str, Any]]
) -> None:
    ids = [o["id"] for o in stix_objects]
    assert len(ids) == len(set(ids))
    org_ids = {o["identity"] for o in orgs.values()}
    assert not org_ids & set(ids), "organisation identities are created by the loader"
    for obj in stix_objects:
        stype, _, suffix = obj["id"].partition("--")
        assert stype == obj["type"]
        assert _is_uuid4(suffix), obj["id"]
        assert TS_RE.match(obj["created"]) and TS_RE.match(obj["modified"]), obj["id"]
        assert obj["created"] <= obj["modified"], obj["id"]
        assert obj["created"].startswith(("2022-", "2021-")), obj["id"]
        assert not TLP_MARKING_IDS & set(obj.get("object_marking_refs", [])), obj["id"]


def test_references_resolve(
    stix_objects: list[dict[str, Any]], orgs: dict[str, dict[str, Any]]
) -> None:
    known = {o["id"] for o in stix_objects} | {o["identity"] for o in orgs.values()}
    types = {o["id"]: o["type"] for o in stix_objects}
    types.update({o["identity"]: "identity" for o in orgs.values()})
    for obj in stix_objects:
        for prop, ref in _iter_refs(obj):
            assert ref in known, (obj["id"], prop, ref)
        if obj["type"] == "sighting":
            assert types[obj["sighting_of_ref"]] == "indicator"
            for ref in obj["where_sighted_refs"]:
                assert types[ref] in {"identity", "location"}


def test_countries_and_core_objects(stix_objects: list[dict[str, Any]]) -> None:
    by_type = Counter(o["type"] for o in stix_objects)
    for stype in (
        "intrusion-set",
        "campaign",
        "malware",
        "tool",
        "attack-pattern",
        "vulnerability",
        "indicator",
        "location",
        "relationship",
        "sighting",
        "report",
    ):
        assert by_type[stype] >= 1, stype
    locations = {o["country"] for o in stix_objects if o["type"] == "location"}
    assert locations >= COUNTRIES
    names = {o.get("name") for o in stix_objects}
    assert {"Conti", "Hive", "Cobalt Strike"} <= names
    assert "Costa Rica public-services ransomware campaign 2022" in names
    for obj in stix_objects:
        for ref in obj.get("external_references", []):
            if ref["source_name"] == "mitre-attack":
                assert re.fullmatch(r"T\d{4}(\.\d{3})?", ref["external_id"])
            if ref["source_name"] == "cve":
                assert re.fullmatch(r"CVE-\d{4}-\d{4,}", ref["external_id"])
    rel_types = {o["relationship_type"] for o in stix_objects if o["type"] == "relationship"}
    assert rel_types >= {"uses", "indicates", "targets", "attributed-to", "exploits"}


def test_indicator_values_are_demo_values(stix_objects: list[dict[str, Any]]) -> None:
    indicators = [o for o in stix_objects if o["type"] == "indicator"]
    assert indicators
    for ind in indicators:
        assert ind["pattern_type"] == "stix"
        assert "demo value" in ind["description"], ind["id"]
        labels = set(DEMO_LABEL_RE.findall(ind["description"]))
        comparisons = Pattern(ind["pattern"]).inspect().comparisons
        for obj_type, comps in comparisons.items():
            for path, _op, raw in comps:
                value = raw.strip("'")
                prop = ".".join(str(p) for p in path)
                where = (ind["id"], obj_type, prop, value)
                if obj_type in {"ipv4-addr", "ipv6-addr"}:
                    assert prop == "value", where
                    assert _ip_allowed(value), where
                elif obj_type == "domain-name":
                    assert prop == "value" and _host_allowed(value), where
                elif obj_type == "url":
                    host = urlsplit(value).hostname or ""
                    try:
                        assert _ip_allowed(host), where
                    except ValueError:
                        assert _host_allowed(host), where
                elif obj_type == "email-addr" or (
                    obj_type == "email-message" and prop.endswith("_ref.value")
                ):
                    assert _host_allowed(value.rpartition("@")[2]), where
                elif obj_type == "email-message" and prop == "subject":
                    pass
                elif obj_type == "file" and path[0] == "hashes":
                    assert HEX64_RE.match(value), where
                    expected = {hashlib.sha256(label.encode()).hexdigest() for label in labels}
                    assert value in expected, where
                else:
                    pytest.fail(f"unchecked indicator comparison {where}")
