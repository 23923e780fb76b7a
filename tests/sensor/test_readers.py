"""Readers on real log slices (tests/sensor/fixtures/README.md says where each was cut from)."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from minga.sensor.readers import ReadError, read, read_paths

FIXTURES = Path(__file__).parent / "fixtures"
DATA = Path("/work/shared/data/anomaly")


def raw_line(name: str, number: int) -> str:
    return (FIXTURES / name).read_text().splitlines()[number - 1]


def test_zeek_tsv_keeps_line_numbers_and_skips_a_malformed_line():
    batch = read(str(FIXTURES / "conn.log"))
    assert batch.log == "conn"
    assert batch.records == 32  # 33 data lines, one of them cut short
    assert [(m.line, m.reason) for m in batch.malformed] == [(29, "4 fields where 21 are expected")]
    assert 29 not in batch.lines.tolist()
    for row in (0, 19, 31):  # each row holds exactly the fields of its line
        fields = raw_line("conn.log", int(batch.lines[row])).split("\t")
        assert batch.table.column("uid")[row].as_py() == fields[1]
        assert batch.table.column("id.resp_h")[row].as_py() == fields[4]
    assert batch.lines[-1] == 41  # the '#close' line after it is not a record


def test_zeek_tsv_unset_and_empty_fields_are_null():
    batch = read(str(FIXTURES / "conn.log"))
    first = batch.table.slice(0, 1).to_pylist()[0]
    assert first["tunnel_parents"] is None  # (empty)
    assert batch.table.column("service").null_count > 0  # '-'


def test_zeek_json_fast_path_and_log_from_columns():
    batch = read(str(FIXTURES / "notice.log"))
    assert batch.log == "notice"
    assert batch.records == 10
    assert batch.malformed == []
    assert batch.table.column("src")[0].as_py() == "51.77.66.36"


def test_zeek_json_with_a_broken_line_falls_back_per_line():
    batch = read(str(FIXTURES / "conn.json.log"))
    assert batch.log == "conn"
    assert batch.records == 20
    assert [m.line for m in batch.malformed] == [16]
    assert batch.lines.tolist() == [*range(1, 16), *range(17, 22)]
    assert batch.table.column("id.resp_h")[0].as_py() == "8.8.8.8"


@pytest.mark.parametrize(
    ("name", "log", "column", "row", "field_index"),
    [
        ("dns.log", "dns", "query", 0, 9),
        ("http.log", "http", "host", 0, 8),
        ("ssl.log", "ssl", "server_name", 0, 9),
        ("files.log", "files", "md5", 0, 19),
    ],
)
def test_zeek_logs_of_each_type(name, log, column, row, field_index):
    batch = read(str(FIXTURES / name))
    assert batch.log == log
    assert batch.malformed == []
    expected = raw_line(name, int(batch.lines[row])).split("\t")[field_index]
    assert batch.table.column(column)[row].as_py() == expected


def test_zeek_http_gets_a_url_column():
    batch = read(str(FIXTURES / "http.log"))
    fields = raw_line("http.log", int(batch.lines[0])).split("\t")
    assert batch.table.column("url")[0].as_py() == f"http://{fields[8]}{fields[9]}"


def test_zeek_log_without_records():
    batch = read(str(FIXTURES / "x509.log"))
    assert (batch.log, batch.records, batch.malformed) == ("x509", 0, [])


def test_eve_json():
    batch = read(str(FIXTURES / "eve.json"))
    assert batch.log == "eve"
    assert batch.records == 7
    assert [m.line for m in batch.malformed] == [7]
    rows = {r["event_type"]: r for r in batch.table.to_pylist() if r["event_type"] != "dns"}
    names = [r["dns.rrname"] for r in batch.table.to_pylist() if r["event_type"] == "dns"]
    assert names == ["www.gatyfus.com", "lyvyxor.com"]  # eve dns v2 and v3
    assert rows["http"]["url"] == "http://LyVyXor.com/login.php"
    assert rows["tls"]["tls.ja3.hash"] == "6734f37431670b3ab4292b8f60f29984"
    assert rows["tls"]["tls.sni"] == "store.korfx.com"
    assert rows["fileinfo"]["fileinfo.md5"] == "cd5a4d3fdd5bffc16bf959ef75cf37bc"
    assert rows["flow"]["src_ip"] == "2001:db8::5"
    assert batch.lines.tolist() == [1, 2, 3, 4, 5, 6, 8]


def test_nfdump_csv_stops_at_the_summary():
    batch = read(str(FIXTURES / "nfcapd.csv"))
    assert batch.log == "netflow"
    assert batch.records == 3
    assert [m.line for m in batch.malformed] == [4]
    assert batch.table.column("sa").to_pylist() == [
        "192.168.1.116",
        "192.168.1.116",
        "198.144.30.128",
    ]
    assert batch.lines.tolist() == [2, 3, 5]


def test_auth_log_events():
    batch = read(str(FIXTURES / "auth.log"))
    assert batch.log == "auth"
    assert batch.records == 40
    assert [(m.line, m.reason) for m in batch.malformed] == [(31, "not a syslog line")]
    rows = batch.table.to_pylist()
    invalid = [r for r in rows if r["event"] == "invalid-user"]
    assert invalid
    for r in invalid:
        assert f"nvalid user {r['user']} from {r['src']}" in r["message"]
    failed = [r for r in rows if r["event"] == "failed-password"]
    assert failed
    for r in failed:
        assert r["user"] in r["message"] and f"from {r['src']}" in r["message"]
    assert {r["program"] for r in rows} == {"sshd"}


def test_syslog_program_with_a_version():
    batch = read(str(FIXTURES / "messages"))
    assert batch.log == "syslog"
    assert batch.malformed == []
    restart = [r for r in batch.table.to_pylist() if r["message"] == "restart."]
    assert restart and restart[0]["program"] == "syslogd"


def test_gzip_rotated_log(tmp_path):
    rotated = tmp_path / "conn.00:00:00-01:00:00.log.gz"
    rotated.write_bytes(gzip.compress((FIXTURES / "conn.log").read_bytes()))
    batch = read(str(rotated))
    assert (batch.log, batch.records, [m.line for m in batch.malformed]) == ("conn", 32, [29])


def test_unknown_or_missing_file_is_one_sentence(tmp_path):
    other = tmp_path / "notes.txt"
    other.write_text("just some words\nnothing else\n")
    with pytest.raises(ReadError, match="not a log the sensor knows"):
        read(str(other))
    with pytest.raises(ReadError, match="cannot read"):
        read(str(tmp_path / "missing.log"))
    with pytest.raises(ReadError, match="unknown input kind"):
        read(str(FIXTURES / "conn.log"), "pcap")


def test_directory_and_forced_kind():
    logs = {b.log for b in read_paths(str(FIXTURES))}
    assert {"conn", "dns", "http", "ssl", "files", "x509", "notice", "auth"} <= logs
    (batch,) = read_paths(f"eve:{FIXTURES / 'eve.json'}")
    assert batch.log == "eve"


@pytest.mark.skipif(not DATA.exists(), reason="the anomaly data set is not on this machine")
def test_whole_real_files():
    zeek = DATA / "stratosphere-zeek"
    assert read(str(zeek / "001-zeek-scenario-malicious/conn.log")).records == 992
    assert read(str(zeek / "002-zeek-scenario-port-scanning/conn.log")).records == 4504
    dns = read(str(zeek / "009-zeek-malicious/data/dns.log.labeled"))
    assert (dns.log, dns.records, dns.malformed) == ("dns", 24181, [])
    ssh = read(str(DATA / "logs-loghub-deeplog/loghub/OpenSSH/OpenSSH_2k.log"))
    assert (ssh.log, ssh.records, ssh.malformed) == ("auth", 2000, [])
