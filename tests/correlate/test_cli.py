"""`minga lookup` (arguments and stdin, table and --json), `minga correlate ...` and
`minga warninglist ...`."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from minga.cli import app
from minga.intel import service as intel
from minga.policy import Tlp
from tests.conftest import add_member
from tests.factories import indicator, sid

runner = CliRunner()


@pytest.fixture
def env(db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("MINGA_DATABASE_URL", db_url)
    monkeypatch.setenv("COLUMNS", "240")
    return db_url


def test_lookup_exclusions_and_warninglists(
    env: str, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    assert runner.invoke(app, ["init", "--org", "CSIRT-PA", "--country", "PA"]).exit_code == 0
    gt = add_member(sessions, "CSIRT-GT", country="GT")
    with sessions() as s:
        items = [
            indicator(1, pattern="[url:value = 'http://c2.bad-host.net/gate.php']"),
            indicator(2, pattern="[ipv4-addr:value = '45.155.205.7']"),
        ]
        intel.create_objects(s, gt.principal, items, tlp=Tlp.GREEN)
        s.commit()
    r = runner.invoke(app, ["lookup", "--json", "bad-host.net", "45.155.205.0/24"])
    assert r.exit_code == 0, r.output
    domain, net = orjson.loads(r.stdout)["values"]
    assert [m["stix_id"] for m in domain["matches"]] == [sid("indicator", 1)]
    assert domain["reported_by"] == ["CSIRT-GT"] and domain["countries"] == 1
    assert [m["relation"] for m in net["matches"]] == ["within"]
    r = runner.invoke(
        app, ["lookup"], input="45.155.205.7\n\nhxxp://c2[.]bad-host[.]net/gate.php\n"
    )
    assert r.exit_code == 0, r.output
    assert "CSIRT-GT" in r.stdout and "http://c2.bad-host.net/gate.php" in r.stdout
    r = runner.invoke(app, ["correlate", "exclude", "45.155.205.7", "--reason", "sinkhole"])
    assert r.exit_code == 0, r.output
    assert "sinkhole" in runner.invoke(app, ["correlate", "exclusions"]).stdout
    r = runner.invoke(app, ["lookup", "45.155.205.7"])
    assert "excluded from correlation" in r.stdout
    assert runner.invoke(app, ["correlate", "include", "45.155.205.7"]).exit_code == 0
    r = runner.invoke(app, ["correlate", "include", "45.155.205.7"])
    assert r.exit_code == 2 and "not excluded" in r.output
    listed = tmp_path / "list.json"
    listed.write_bytes(
        orjson.dumps({"name": "Shared hosting", "type": "hostname", "list": ["bad-host.net"]})
    )
    r = runner.invoke(app, ["warninglist", "import", str(listed)])
    assert r.exit_code == 0 and "1 hostname entries" in r.stdout
    r = runner.invoke(app, ["lookup", "--json", "http://www.bad-host.net/"])
    assert orjson.loads(r.stdout)["values"][0]["warninglists"] == ["Shared hosting"]
    assert "Shared hosting" in runner.invoke(app, ["warninglist", "list"]).stdout
    assert runner.invoke(app, ["warninglist", "disable", "Shared hosting"]).exit_code == 0
    r = runner.invoke(app, ["lookup", "--json", "http://www.bad-host.net/"])
    assert orjson.loads(r.stdout)["values"][0]["warninglists"] == []
    listed.write_text("{not json")
    r = runner.invoke(app, ["warninglist", "import", str(listed)])
    assert r.exit_code == 2 and "not a JSON document" in r.output
    r = runner.invoke(app, ["correlate", "reindex"])
    assert r.exit_code == 0 and "Indexed 2 values" in r.stdout


def test_a_misp_warninglists_checkout_is_imported(env: str, tmp_path: Path) -> None:
    assert runner.invoke(app, ["init", "--org", "CSIRT-PA", "--country", "PA"]).exit_code == 0
    for name, doc in {
        "cdn": {"name": "CDN ranges", "type": "cidr", "list": ["45.155.205.0/24"]},
        "broken": {"name": "Broken", "type": "bloom", "list": ["x"]},
        "hosts": {"name": "Hosts", "type": "string", "list": ["HTTP://Bad-Host.net/x"]},
    }.items():
        (tmp_path / "lists" / name).mkdir(parents=True)
        (tmp_path / "lists" / name / "list.json").write_bytes(orjson.dumps(doc))
    r = runner.invoke(app, ["warninglist", "import", str(tmp_path)])
    assert r.exit_code == 0, r.output
    assert "Imported CDN ranges" in r.stdout and "Imported Hosts" in r.stdout
    assert "skipped" in r.output and "bloom" in r.output
    r = runner.invoke(app, ["lookup", "--json", "45.155.205.1", "http://bad-host.net/x"])
    found = orjson.loads(r.stdout)["values"]
    assert [f["warninglists"] for f in found] == [["CDN ranges"], ["Hosts"]]
