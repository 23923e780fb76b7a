"""MISP and CSV parse stages: input -> expected output."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import orjson
import pytest

from minga.errors import InvalidInput
from minga.ingest.build import FEED_NS
from minga.ingest.csvfeed import CsvMapping
from minga.ingest.pipeline import Upload, normalise, parse_csv, parse_misp
from minga.intel.stix import TLP2_MARKING_ID
from minga.policy import Reach, Tlp
from tests.ingest.harness import ORG_IDENTITY, TS, context, run_stage

# ../shared/ beside the repository (as on developer machines and CI).
ESET = Path(__file__).resolve().parents[3] / "shared/data/ioc/eset-malware-ioc"
EVENT = {
    "Event": {
        "uuid": "5e1d0b3a-1111-4a2b-9c3d-0a0b0c0d0e01",
        "info": "Phishing against banks in CR",
        "date": "2024-02-01",
        "timestamp": "1706788800",
        "distribution": "1",
        "threat_level_id": "2",
        "analysis": "2",
        "Orgc": {"name": "CSIRT-X", "uuid": "5e1d0b3a-2222-4a2b-9c3d-0a0b0c0d0e02"},
        "Tag": [{"name": "TLP:GREEN"}],
        "Attribute": [
            {
                "uuid": "5e1d0b3a-3333-4a2b-9c3d-0a0b0c0d0e03",
                "type": "domain",
                "category": "Network activity",
                "value": "banco-falso.example",
                "to_ids": True,
                "timestamp": "1706788800",
            },
            {
                "uuid": "5e1d0b3a-4444-4a2b-9c3d-0a0b0c0d0e04",
                "type": "ip-dst",
                "category": "Network activity",
                "value": "203.0.113.7",
                "to_ids": False,
                "timestamp": "1706788800",
                "Tag": [{"name": "tlp:red"}],
            },
        ],
    }
}


def misp_upload(payload: object, name: str = "event.json") -> Upload:
    return Upload(orjson.dumps(payload), name, None, "misp")


def test_misp_event_becomes_one_batch_with_its_tlp_and_creator():
    (batch,) = run_stage(parse_misp, misp_upload(EVENT))
    assert batch.label == "event.json: Phishing against banks in CR"
    assert batch.third_party is True
    assert batch.tlp is Tlp.GREEN
    assert batch.reach is Reach.COMMUNITY
    types = [o["type"] for o in batch.objects]
    assert types == [
        "identity", "grouping", "observed-data", "domain-name", "indicator", "observed-data",
        "network-traffic", "ipv4-addr", "relationship",
    ]  # fmt: skip
    report = batch.objects[1]
    assert report["name"] == "Phishing against banks in CR"
    assert report["created_by_ref"] == "identity--5e1d0b3a-2222-4a2b-9c3d-0a0b0c0d0e02"
    (clean,) = run_stage(normalise, batch)
    markings = {o["id"].split("--")[0] + ":" + o.get("value", ""): o["object_marking_refs"]
                for o in clean.objects}  # fmt: skip
    assert markings["domain-name:banco-falso.example"] == [TLP2_MARKING_ID[Tlp.GREEN]]
    # The red attribute's address stays red, though MISP marked only its observed-data.
    assert markings["ipv4-addr:203.0.113.7"] == [TLP2_MARKING_ID[Tlp.RED]]


@pytest.mark.parametrize(
    ("distribution", "asked", "reach"),
    [
        ("0", Reach.FEDERATION, Reach.ORGANISATION),
        ("1", Reach.FEDERATION, Reach.COMMUNITY),
        ("2", Reach.COMMUNITY, Reach.COMMUNITY),
        ("3", Reach.CONNECTED, Reach.CONNECTED),
        ("4", Reach.COMMUNITY, Reach.ORGANISATION),
        ("3", Reach.FEDERATION, Reach.FEDERATION),
    ],
)
def test_misp_distribution_only_narrows_the_reach(distribution: str, asked: Reach, reach: Reach):
    event = copy.deepcopy(EVENT)
    event["Event"]["distribution"] = distribution
    (batch,) = run_stage(parse_misp, misp_upload(event), context(reach=asked))
    assert batch.reach is reach


def test_misp_response_with_several_events_gives_one_batch_each():
    second = copy.deepcopy(EVENT)
    second["Event"]["uuid"] = "5e1d0b3a-9999-4a2b-9c3d-0a0b0c0d0e09"
    second["Event"]["info"] = "Second"
    second["Event"]["Tag"] = []
    batches = run_stage(parse_misp, misp_upload({"response": [EVENT, second]}))
    assert [(b.label, b.tlp) for b in batches] == [
        ("event.json: Phishing against banks in CR", Tlp.GREEN),
        ("event.json: Second", None),
    ]


def test_misp_attributes_left_out_are_reported():
    event = copy.deepcopy(EVENT)
    bad = {"uuid": "5e1d0b3a-5555-4a2b-9c3d-0a0b0c0d0e05", "category": "Network activity",
           "timestamp": "1706788800", "to_ids": True}  # fmt: skip
    event["Event"]["Attribute"] += [
        {**bad, "type": "ip-dst", "value": "not-an-ip"},
        {**bad, "uuid": "5e1d0b3a-6666-4a2b-9c3d-0a0b0c0d0e06", "type": "no-such-type"},
    ]
    ctx = context()
    (batch,) = run_stage(parse_misp, misp_upload(event), ctx)
    assert len(batch.objects) == 9  # the two good attributes, as without the bad ones
    problems = [(s["event"], s["problem"]) for s in ctx.notes["skipped"]]
    label = "event.json: Phishing against banks in CR"
    assert problems == [
        (label, "Error loading Attribute <5e1d0b3a-6666-4a2b-9c3d-0a0b0c0d0e06>: "
                "no-such-type is invalid"),
        (label, "Failed validation for ip-dst Attribute <5e1d0b3a-5555-4a2b-9c3d-0a0b0c0d0e05>: "
                "not-an-ip - IP address has an invalid format."),
    ]  # fmt: skip
    clean = context()
    run_stage(parse_misp, misp_upload(EVENT), clean)
    assert "skipped" not in clean.notes


def test_not_a_misp_event():
    with pytest.raises(InvalidInput, match="this JSON is not a MISP event"):
        parse_misp(misp_upload({"Event": {"uuid": "x"}}), context())


@pytest.mark.skipif(not ESET.exists(), reason="shared ESET data set not present")
@pytest.mark.parametrize(
    ("path", "objects"),
    [
        ("sshdoor/misp-events/bespin.json", 7),
        ("turla/misp-turla-outlook-event.json", 28),
        # This export has a galaxy cluster with an empty uuid: it gets a stable one.
        ("sednit/2018-11-20_Zebrocy.json", 74),
    ],
)
def test_real_eset_misp_events_convert_and_validate(path: str, objects: int):
    data = (ESET / path).read_bytes()
    (batch,) = run_stage(parse_misp, Upload(data, path, None, "misp"))
    (clean,) = run_stage(normalise, batch)
    assert len(clean.objects) == objects
    assert all(o.get("object_marking_refs") for o in clean.objects)


# -- CSV ------------------------------------------------------------------------------------

CSIRTAMERICAS = (
    "date,ip,domain,url,hash,type,country,description\n"
    "2024-05-02,203.0.113.9,,,,botnet,cr,Mirai C2\n"
    "2024-05-02,,phish-bank[.]com,hxxps://phish-bank[.]com/login,,phishing,CR,\n"
    "2024-05-02,,,,d41d8cd98f00b204e9800998ecf8427f,malware,CR,dropper\n"
    "2024-05-02,not-an-ip,,,,botnet,CR,\n"
    "yesterday,198.51.100.1,,,,botnet,CR,\n"
    "2024-05-02,,,,,botnet,CR,no value at all\n"
)


def csv_upload(text: str, name: str = "CR-2024-05-02.csv", encoding: str = "utf-8") -> Upload:
    return Upload(text.encode(encoding), name, None, "csv")


def test_csirtamericas_preset():
    ctx = context(csv=CsvMapping.parse([], "csirtamericas"))
    (batch,) = run_stage(parse_csv, csv_upload(CSIRTAMERICAS), ctx)
    assert batch.third_party is False
    summary = [(o["pattern"], o.get("labels"), o.get("description"), o["x_minga_country"])
               for o in batch.objects]  # fmt: skip
    assert summary == [
        ("[ipv4-addr:value = '203.0.113.9']", ["botnet"], "Mirai C2", "CR"),
        ("[domain-name:value = 'phish-bank.com']", ["phishing"], None, "CR"),
        ("[url:value = 'https://phish-bank.com/login']", ["phishing"], None, "CR"),
        ("[file:hashes.'MD5' = 'd41d8cd98f00b204e9800998ecf8427f']", ["malware"], "dropper", "CR"),
    ]
    first = batch.objects[0]
    assert (
        first["created"] == first["modified"] == first["valid_from"] == "2024-05-02T00:00:00.000Z"
    )
    assert ctx.notes == {
        "rows": 6,
        "rejected": [
            {"line": 5, "problem": "'not-an-ip' is not an IP address"},
            {"line": 6, "problem": "first_seen 'yesterday' is not a date or time"},
            {"line": 7, "problem": "the row has no indicator value"},
        ],
    }


def test_same_csv_row_gives_the_same_indicator_id():
    ctx = context(csv=CsvMapping.parse([], "csirtamericas"))
    (one,) = parse_csv(csv_upload(CSIRTAMERICAS), ctx)
    (two,) = parse_csv(csv_upload(CSIRTAMERICAS), ctx)
    assert [o["id"] for o in one.objects] == [o["id"] for o in two.objects]
    import uuid

    key = f"{ORG_IDENTITY}|2024-05-02T00:00:00.000Z|[ipv4-addr:value = '203.0.113.9']"
    assert one.objects[0]["id"] == f"indicator--{uuid.uuid5(FEED_NS, key)}"


def test_csv_with_column_mapping_semicolons_latin1_and_row_tlp():
    text = (
        "indicador;tipo;descripción;tlp\n"
        "evil-domain.net;domain;Campaña de phishing;green\n"
        "203.0.113.5;ip-dst;;purple\n"
    )
    mapping = CsvMapping.parse(
        ["indicador=value", "tipo=type", "descripción=description", "tlp=tlp"]
    )
    ctx = context(csv=mapping)
    (batch,) = run_stage(parse_csv, csv_upload(text, "feed.csv", "latin-1"), ctx)
    (only,) = batch.objects
    assert only["pattern"] == "[domain-name:value = 'evil-domain.net']"
    assert only["description"] == "Campaña de phishing"
    assert only["object_marking_refs"] == [TLP2_MARKING_ID[Tlp.GREEN]]
    assert only["created"] == TS
    problem = "unknown TLP 'purple': use clear, green, amber, amber+strict or red"
    assert ctx.notes["rejected"] == [{"line": 3, "problem": problem}]


def test_headerless_single_column_is_a_list_of_values():
    (batch,) = run_stage(parse_csv, csv_upload("203.0.113.1\nevil-domain[.]net\n", "list.csv"))
    assert [o["name"] for o in batch.objects] == ["203.0.113.1", "evil-domain.net"]


def test_positional_mapping_without_header():
    ctx = context(csv=CsvMapping.parse(["2=value", "1=first_seen"]))
    (batch,) = run_stage(parse_csv, csv_upload("1714608000,203.0.113.1\n"), ctx)
    assert batch.objects[0]["valid_from"] == "2024-05-02T00:00:00.000Z"


@pytest.mark.parametrize(
    ("text", "mapping", "message"),
    [
        ("", [], "the CSV file has no rows"),
        ("a,b\n1,2\n", [], "the CSV has no header row: give a column mapping"),
        ("name,comment\nx,y\n", [], "no column is mapped to an indicator"),
        ("indicator\nnothing here\n", [], "none of the 1 CSV rows holds a usable indicator"),
        ("1.2.3.4\n", ["value=value"], "the CSV has no header row, so the column 'value'"),
    ],
)
def test_csv_refusals(text: str, mapping: list[str], message: str):
    with pytest.raises(InvalidInput) as caught:
        parse_csv(csv_upload(text), context(csv=CsvMapping.parse(mapping)))
    assert caught.value.message.startswith(message)


def test_csv_mapping_errors():
    with pytest.raises(InvalidInput, match="unknown CSV preset 'x'"):
        CsvMapping.parse([], "x")
    with pytest.raises(InvalidInput, match="bad column mapping 'ip'"):
        CsvMapping.parse(["ip"])
    with pytest.raises(InvalidInput, match="bad column mapping 'ip=address'"):
        CsvMapping.parse(["ip=address"])


def test_huge_single_line_csv_ends_with_a_clear_error():
    data = b"indicator\n" + b"a" * (20 * 1024 * 1024)
    with pytest.raises(InvalidInput, match="the CSV is malformed at line 2: field larger"):
        parse_csv(Upload(data, "big.csv", None, "csv"), context())


def test_json_is_used_only_as_expected():
    assert json.loads(orjson.dumps(EVENT))["Event"]["info"] == EVENT["Event"]["info"]
