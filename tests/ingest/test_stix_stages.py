"""Detect, STIX parse (2.0 upgrade) and normalise stages: input -> expected output."""

from __future__ import annotations

import orjson
import pytest

from minga.errors import InvalidInput
from minga.ingest.pipeline import Batch, Upload, detect, normalise, parse_stix
from minga.intel.stix import TLP2_MARKING_ID
from minga.policy import Tlp
from tests.factories import BASE, indicator, malware, sid
from tests.ingest.harness import context, run_stage

AMBER = TLP2_MARKING_ID[Tlp.AMBER]
TLP1_GREEN = "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"
CREATOR = "identity--3f0a5b1c-9d2e-4f60-8a7b-1c2d3e4f5a6b"


def bundle(*objs: dict, **extra: object) -> bytes:
    body = {"type": "bundle", "id": "bundle--6c6f3c52-6c5b-4b0e-9f8e-0e5d8b8a9f01", **extra}
    return orjson.dumps({**body, "objects": list(objs)})


@pytest.mark.parametrize(
    ("source", "ctype", "data", "expected"),
    [
        ("feed.json", None, bundle(indicator(1)), "stix"),
        ("upload", "application/json", b'{"Event": {"info": "x"}}', "misp"),
        ("upload", None, b'  {"response": []}', "misp"),
        ("daily-CR.csv", None, b"date,ip\n", "csv"),
        ("upload", "text/csv; charset=utf-8", b"ip\n1.2.3.4\n", "csv"),
        ("informe.pdf", None, b"%PDF-1.7 ...", "report"),
        ("upload", None, b"%PDF-1.4 ...", "report"),
        ("notes.md", None, b"# Campaign\n", "report"),
        ("https://example.org/blog/post.html?x=1", None, b"<html>", "report"),
        ("upload", None, b"plain words", "report"),
    ],
)
def test_detect(source: str, ctype: str | None, data: bytes, expected: str):
    (out,) = run_stage(detect, Upload(data, source, ctype))
    assert out.format == expected


def test_detect_keeps_an_explicit_format_and_refuses_unknown_ones():
    (out,) = run_stage(detect, Upload(b"x", "a.json", None, "csv"))
    assert out.format == "csv"
    with pytest.raises(InvalidInput, match="unknown format 'xml'"):
        detect(Upload(b"x", "a", None, "xml"), context())
    with pytest.raises(InvalidInput, match=r"directory or URL holding manifest\.json"):
        detect(Upload(b"x", "a", None, "misp-feed"), context())


def test_detect_reports_broken_json():
    with pytest.raises(InvalidInput, match="the file is not valid JSON"):
        detect(Upload(b'{"type": "bundle", ', "x.json"), context())


def test_parse_stix21_bundle_keeps_objects_as_they_are():
    objs = [indicator(1, created_by_ref=CREATOR), malware(2)]
    (batch,) = run_stage(parse_stix, Upload(bundle(*objs), "feed.json", None, "stix"))
    assert batch == Batch(objs, "feed.json", third_party=True)


def test_parse_stix_accepts_a_list_and_a_single_object():
    (batch,) = run_stage(parse_stix, Upload(orjson.dumps([malware(2)]), "l.json", None, "stix"))
    assert batch.objects == [malware(2)]
    (batch,) = run_stage(parse_stix, Upload(orjson.dumps(malware(3)), "o.json", None, "stix"))
    assert batch.objects == [malware(3)]


def test_parse_stix_refuses_json_that_is_not_stix():
    with pytest.raises(InvalidInput, match="this JSON is not STIX"):
        parse_stix(Upload(b'{"hello": 1}', "x.json", None, "stix"), context())


def test_stix20_bundle_is_upgraded_to_21():
    v20 = [
        {
            "type": "indicator",
            "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
            "created_by_ref": CREATOR,
            "created": "2016-04-06T20:03:48.000Z",
            "modified": "2016-04-06T20:03:48.000Z",
            "labels": ["malicious-activity"],
            "name": "Poison Ivy C2",
            "pattern": "[ipv4-addr:value = '198.51.100.3']",
            "valid_from": "2016-01-01T00:00:00Z",
            "object_marking_refs": [TLP1_GREEN],
        },
        {
            "type": "malware",
            "id": "malware--31b940d4-6f7f-459a-80ea-9c1f17b5891b",
            "created": "2016-04-06T20:07:09.000Z",
            "modified": "2016-04-06T20:07:09.000Z",
            "name": "Poison Ivy",
            "labels": ["remote-access-trojan"],
        },
        {
            "type": "observed-data",
            "id": "observed-data--b67d30ff-02ac-498a-92f9-32f845f448cf",
            "created": "2016-04-06T19:58:16.000Z",
            "modified": "2016-04-06T19:58:16.000Z",
            "first_observed": "2015-12-21T19:00:00Z",
            "last_observed": "2015-12-21T19:00:00Z",
            "number_observed": 1,
            "objects": {
                "0": {"type": "ipv4-addr", "value": "198.51.100.3"},
                "1": {"type": "network-traffic", "dst_ref": "0", "protocols": ["tcp"]},
            },
        },
    ]
    data = bundle(*v20, spec_version="2.0")
    (batch,) = run_stage(parse_stix, Upload(data, "old.json", None, "stix"))
    ind, mal, obs, ip, traffic = batch.objects
    assert ind == {
        **{k: v for k, v in v20[0].items() if k != "labels"},
        "spec_version": "2.1",
        "indicator_types": ["malicious-activity"],
        "pattern_type": "stix",
    }
    assert mal["spec_version"] == "2.1"
    assert mal["malware_types"] == ["remote-access-trojan"]
    assert mal["is_family"] is True
    assert "labels" not in mal
    assert "objects" not in obs
    assert obs["object_refs"] == [ip["id"], traffic["id"]]
    assert ip == {
        "type": "ipv4-addr",
        "spec_version": "2.1",
        "id": ip["id"],
        "value": "198.51.100.3",
    }
    assert ip["id"].startswith("ipv4-addr--")
    assert traffic["dst_ref"] == ip["id"]
    # Every upgraded object is valid STIX 2.1 and keeps its creator.
    (checked,) = run_stage(normalise, batch)
    assert checked.objects[0]["created_by_ref"] == CREATOR
    assert checked.objects[0]["object_marking_refs"] == [TLP1_GREEN]


def test_upgrade_gives_the_same_observable_ids_every_time():
    obs = {
        "type": "observed-data",
        "id": "observed-data--b67d30ff-02ac-498a-92f9-32f845f448cf",
        "created": BASE,
        "modified": BASE,
        "first_observed": BASE,
        "last_observed": BASE,
        "number_observed": 1,
        "objects": {"0": {"type": "domain-name", "value": "evil.example"}},
    }
    first = parse_stix(Upload(bundle(obs, spec_version="2.0"), "a", None, "stix"), context())
    again = parse_stix(Upload(bundle(obs, spec_version="2.0"), "a", None, "stix"), context())
    assert first == again


def test_normalise_marks_unmarked_objects_and_keeps_own_markings():
    green = indicator(2, object_marking_refs=[TLP2_MARKING_ID[Tlp.GREEN]])
    tlp1_definition = {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": TLP1_GREEN,
        "created": "2017-01-20T00:00:00.000Z",
        "definition_type": "tlp",
        "definition": {"tlp": "green"},
    }
    batch = Batch([indicator(1), green, tlp1_definition], "f", third_party=True)
    (out,) = run_stage(normalise, batch)
    assert out.objects == [{**indicator(1), "object_marking_refs": [AMBER]}, green]
    (red,) = run_stage(normalise, batch, context(tlp=Tlp.RED))
    assert red.objects[0]["object_marking_refs"] == [TLP2_MARKING_ID[Tlp.RED]]


def test_normalise_gives_observables_the_tlp_of_what_refers_to_them():
    red = TLP2_MARKING_ID[Tlp.RED]
    ip = {
        "type": "ipv4-addr",
        "spec_version": "2.1",
        "id": sid("ipv4-addr", 1),
        "value": "203.0.113.7",
    }
    traffic = {
        "type": "network-traffic", "spec_version": "2.1", "id": sid("network-traffic", 2),
        "dst_ref": ip["id"], "protocols": ["tcp"],
    }  # fmt: skip
    observed = {
        "type": "observed-data", "spec_version": "2.1",
        "id": sid("observed-data", 3),
        "created": BASE, "modified": BASE, "first_observed": BASE, "last_observed": BASE,
        "number_observed": 1, "object_refs": [traffic["id"]], "object_marking_refs": [red],
    }  # fmt: skip
    batch = Batch([ip, traffic, observed], "misp", third_party=True, tlp=Tlp.GREEN)
    (out,) = run_stage(normalise, batch)
    assert [o["object_marking_refs"] for o in out.objects] == [[red], [red], [red]]


def test_normalise_refuses_a_batch_with_an_invalid_object():
    bad = indicator(2, pattern="[ipv4-addr:value = ")
    with pytest.raises(InvalidInput) as caught:
        normalise(Batch([indicator(1), bad], "f.json", third_party=True), context())
    assert caught.value.message == "1 of 2 objects in f.json are invalid"
    assert caught.value.details[0]["index"] == 1
    assert caught.value.details[0]["id"] == bad["id"]
