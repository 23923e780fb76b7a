"""Each feed format read by the program that consumes it in production."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import orjson
import stix2
from pymisp import MISPEvent

from minga.correlate.export import FORMATS, render
from minga.correlate.export.rows import Kind
from minga.correlate.export.rpz import owner_names
from minga.correlate.export.zeek import FIELDS, TYPES
from tests.correlate.consumers import loaded_rules, named_checkzone, nft_check, suricata_test
from tests.correlate.samples import META, ROWS, row


def export(name: str, rows: list = ROWS) -> str:  # type: ignore[type-arg]
    return "".join(render(FORMATS[name], rows, META))


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def network_rows() -> int:
    return sum(r.kind in FORMATS["suricata"].kinds for r in ROWS)


def test_suricata_loads_every_rule(tmp_path: Path) -> None:
    text = export("suricata")
    result = suricata_test(write(tmp_path, "minga.rules", text), tmp_path)
    rules = [line for line in text.splitlines() if line.startswith("alert")]
    # Addresses and URLs give one rule each, domains two (DNS and TLS SNI).
    domains = sum(r.kind is Kind.DOMAIN for r in ROWS)
    assert len(rules) == network_rows() + domains
    assert loaded_rules(result) == (len(rules), 0), result.stdout + result.stderr
    assert result.returncode == 0
    assert len({line.split("sid:")[1].split(";")[0] for line in rules}) == len(rules)


def test_suricata_refuses_a_broken_rule(tmp_path: Path) -> None:
    """The check is real: a rule Suricata cannot parse is reported as failed."""
    broken = export("suricata") + 'alert ip any any <> [300.1.1.1] any (msg:"x"; sid:7; rev:1;)\n'
    result = suricata_test(write(tmp_path, "broken.rules", broken), tmp_path)
    assert loaded_rules(result)[1] == 1


def test_snort_rules_parse_in_suricata(tmp_path: Path) -> None:
    """Debian packages no Snort: the Snort 2.9 rules are loaded by Suricata's parser, which
    reads the same header, content and http_* modifiers (not proof for Snort itself)."""
    text = export("snort")
    rules = [line for line in text.splitlines() if line.startswith("alert")]
    assert len(rules) == network_rows()
    assert "|0B|evil-update|03|net|00|" in text  # each label after its length
    result = suricata_test(write(tmp_path, "snort.rules", text), tmp_path)
    assert loaded_rules(result) == (len(rules), 0), result.stdout + result.stderr


def test_rpz_zone_passes_named_checkzone(tmp_path: Path) -> None:
    text = export("rpz")
    result = named_checkzone("rpz.minga", write(tmp_path, "minga.rpz", text))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK" in result.stdout
    assert "evil-update.net CNAME .\n" in text and "*.evil-update.net CNAME .\n" in text
    assert "32.34.12.77.45.rpz-ip CNAME .\n" in text
    assert "22.0.100.220.185.rpz-ip CNAME .\n" in text
    assert "128.2.zz.b8f.c17.4f8.2a01.rpz-ip CNAME .\n" in text
    assert "32.zz.f4c0.2a0b.rpz-ip CNAME .\n" in text
    assert "45.77.12.34" not in text  # no address outside its rpz-ip form


def test_rpz_leaves_out_what_is_no_dns_name(tmp_path: Path) -> None:
    bad = [row(Kind.DOMAIN, "a" * 64 + ".com"), row(Kind.DOMAIN, "bad name.com")]
    assert [owner_names(r) for r in bad] == [[], []]
    text = export("rpz", [*ROWS, *bad])
    assert named_checkzone("rpz.minga", write(tmp_path, "z.rpz", text)).returncode == 0


def test_named_checkzone_is_a_real_check(tmp_path: Path) -> None:
    broken = export("rpz") + "bad..name CNAME .\n"
    assert named_checkzone("rpz.minga", write(tmp_path, "b.rpz", broken)).returncode != 0


def test_nft_set_passes_nft_check(tmp_path: Path) -> None:
    text = export("nft")
    result = nft_check(write(tmp_path, "minga.nft", text))
    assert result.returncode == 0, result.stderr
    assert "add element inet minga feed_ipv4 { 45.77.12.34, 185.220.100.0/22, 45.77.12.34 }" in text
    assert "2a0b:f4c0::/32" in text and "2a01:4f8:c17:b8f::2" in text
    broken = text + "add element inet minga feed_ipv4 { 300.1.1.1 }\n"
    assert nft_check(write(tmp_path, "b.nft", broken)).returncode != 0


def test_nft_batches_large_sets(tmp_path: Path) -> None:
    many = [row(Kind.IPV4, f"10.{i // 250}.{i % 250}.1", i) for i in range(1200)]
    text = export("nft", many)
    assert text.count("add element inet minga feed_ipv4") == 3
    assert nft_check(write(tmp_path, "many.nft", text)).returncode == 0


def test_zeek_intel_file_follows_the_input_framework() -> None:
    """No Zeek in Debian: the file is checked against the Intel framework's documented format
    (tab-separated, `#fields` header naming indicator and indicator_type, `-` when empty,
    URLs without scheme, known Intel:: types)."""
    lines = export("zeek").splitlines()
    assert lines[0] == "#fields\t" + "\t".join(FIELDS)
    body = [line.split("\t") for line in lines[1:]]
    assert len(body) == len(ROWS)
    assert all(len(fields) == len(FIELDS) and all(fields) for fields in body)
    assert {fields[1] for fields in body} <= set(TYPES.values())
    by_value = {fields[0]: fields[1] for fields in body}
    assert by_value["185.220.100.0/22"] == "Intel::SUBNET"
    assert by_value["Cdn.Evil-Update.net:8443/payload.exe"] == "Intel::URL"
    assert by_value["44d88612fea8a8f36de82e1278abb02f"] == "Intel::FILE_HASH"
    assert by_value["ceo@secure-bank.com.gt"] == "Intel::EMAIL"


def test_stix_bundle_parses_with_stix2() -> None:
    raws = {
        r.stix_id: orjson.dumps(
            {
                "type": "indicator",
                "spec_version": "2.1",
                "id": r.stix_id,
                "created": "2026-11-30T10:00:00.000Z",
                "modified": "2026-11-30T10:00:00.000Z",
                "pattern": f"[ipv4-addr:value = '{r.value}']",
                "pattern_type": "stix",
                "valid_from": "2026-11-30T10:00:00Z",
            }
        ).decode()
        for r in ROWS
    }
    rows = [row(r.kind, r.value, int(r.stix_id[-12:]), raw=raws[r.stix_id]) for r in ROWS]
    rows.insert(1, rows[0])  # two values of one indicator: the indicator once
    bundle = stix2.parse(export("stix", rows), allow_custom=False)
    assert [o.id for o in bundle.objects] == [r.stix_id for r in ROWS]
    assert export("stix", rows) == export("stix", rows)  # the same data, the same bytes


def test_misp_event_loads_in_pymisp() -> None:
    event = MISPEvent()
    event.load(export("misp"))
    assert len(event.attributes) == len(ROWS)
    values = {a.value: a for a in event.attributes}
    assert values["185.220.100.0/22"].type == "ip-dst"
    assert values["44d88612fea8a8f36de82e1278abb02f"].category == "Payload delivery"
    assert [t.name for t in values["45.77.12.34"].tags] in (["tlp:amber"], ["tlp:clear"])
    assert all(a.to_ids for a in event.attributes)
    assert len({a.uuid for a in event.attributes}) == len(ROWS)


def test_csv_and_plain_lists() -> None:
    table = list(csv.DictReader(io.StringIO(export("csv"))))
    assert len(table) == len(ROWS)
    assert table[6]["name"] == 'Phish "kit"; with | pipes'
    assert table[0]["score"] == "70" and table[0]["country"] == "GT"
    risky = export("csv", [row(Kind.IPV4, "45.77.1.1", name='=HYPERLINK("http://x")')])
    assert next(iter(csv.DictReader(io.StringIO(risky))))["name"] == '\'=HYPERLINK("http://x")'
    only_ips = [r for r in ROWS if r.kind is Kind.IPV4]
    assert export("txt", only_ips[:1]) == "45.77.12.34\n"
    assert export("txt", only_ips) == "45.77.12.34\n"  # repeated values once
