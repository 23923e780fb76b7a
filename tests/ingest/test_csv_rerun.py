"""CSV ingest with an explicit --map: ids are deterministic (organisation + pattern, and the
row's date when it has one), `created` comes from the data, the description is kept, so
running the same file again stores nothing new — with or without a date column. The
csirtamericas preset's error names the columns it expects."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from minga.cli import app
from minga.intel.models import objects
from tests.conftest import Member, add_member

runner = CliRunner()
DATED = (
    "ioc,fecha,descripcion,otra\n"
    "203.0.113.7,2025-03-04,Servidor de mando y control,x\n"
    "hxxp://evil-domain[.]net/pago,2025-03-05,Página de phishing,y\n"
)
UNDATED = "valor;notas\n198.51.100.9;Escaneo SSH\n"


@pytest.fixture
def member(db_url: str, sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch) -> Member:
    monkeypatch.setenv("MINGA_DATABASE_URL", db_url)
    return add_member(sessions, "CSIRT CR")


def _ingest(path: Path, *maps: str) -> tuple[int, str]:
    args = ["ingest", str(path), "--user", "csirt-cr-analyst", "--format", "csv"]
    r = runner.invoke(app, [*args, *[a for m in maps for a in ("--map", m)]])
    return r.exit_code, r.output


def _indicators(sessions: sessionmaker[Session], org_id: int) -> list[dict]:
    with sessions() as s:
        raws = s.scalars(
            select(objects.c.raw).where(
                objects.c.type == "indicator", objects.c.owner_org_id == org_id
            )
        )
        return sorted((orjson.loads(r) for r in raws), key=lambda o: o["name"])


def test_an_explicit_map_is_idempotent_and_keeps_dates_and_descriptions(
    member: Member, sessions: sessionmaker[Session], tmp_path: Path
):
    path = tmp_path / "feed.csv"
    path.write_text(DATED)
    code, said = _ingest(path, "ioc=value")  # fecha and descripcion are recognised anyway
    assert code == 0, said
    first = _indicators(sessions, member.org_id)
    assert [(o["name"], o["created"][:10], o["description"]) for o in first] == [
        ("203.0.113.7", "2025-03-04", "Servidor de mando y control"),
        ("http://evil-domain.net/pago", "2025-03-05", "Página de phishing"),
    ]
    for _ in range(3):
        code, said = _ingest(path, "ioc=value")
        assert code == 0, said
    assert _indicators(sessions, member.org_id) == first  # nothing new, however many runs

    undated = tmp_path / "scan.csv"
    undated.write_text(UNDATED)
    assert _ingest(undated, "valor=value", "notas=description")[0] == 0
    (scan,) = [o for o in _indicators(sessions, member.org_id) if o["name"] == "198.51.100.9"]
    assert scan["description"] == "Escaneo SSH"
    assert _ingest(undated, "valor=value", "notas=description")[0] == 0
    again = [o for o in _indicators(sessions, member.org_id) if o["name"] == "198.51.100.9"]
    assert again == [scan]  # a row without a date keeps its stored version
    undated.write_text("valor;notas\n198.51.100.9;Escaneo SSH y fuerza bruta\n")
    assert _ingest(undated, "valor=value", "notas=description")[0] == 0
    versions = [o for o in _indicators(sessions, member.org_id) if o["name"] == "198.51.100.9"]
    assert len(versions) == 2 and {o["id"] for o in versions} == {scan["id"]}
    assert {o["created"] for o in versions} == {scan["created"]}  # a new version, same created


def test_the_preset_error_names_its_columns(member: Member, tmp_path: Path):
    path = tmp_path / "CR.csv"
    path.write_text("fecha,indicador\n2025-03-04,203.0.113.7\n")
    r = runner.invoke(
        app, ["ingest", str(path), "--user", "csirt-cr-analyst", "--csv-preset", "csirtamericas"]
    )
    said = " ".join(r.output.split())
    assert r.exit_code == 2
    assert "csirtamericas preset expects a header row with the columns" in said
    assert "date,ip,domain,url,hash,type,country,description" in said
    assert "at least one of the indicator columns ip, domain, url, hash" in said
    assert "this file has: fecha,indicador" in said
