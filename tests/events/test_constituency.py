"""Constituencies: declared by an organisation's admin or the node operator, imported in bulk
(REST and `minga constituency import`) all or nothing, with errors naming their line."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from minga.accounts.node import set_operator_org
from minga.cli import app
from minga.events import constituency
from tests.conftest import Member, add_member, refresh


def _operator(sessions: sessionmaker[Session]) -> Member:
    op = add_member(sessions, "CSIRT Nacional", role="admin")
    with sessions() as s:
        set_operator_org(s, op.org_id)
        s.commit()
    return refresh(sessions, op)


def test_who_declares_an_organisations_assets(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    op = _operator(sessions)
    bank = add_member(sessions, "Banco", role="admin")
    analyst = add_member(sessions, "Banco analyst org")
    other = add_member(sessions, "Otro", role="admin")
    r = client.post("/api/constituency", json={"asset": "AS64500"}, headers=bank.headers)
    assert (r.status_code, r.json()) == (
        201,
        {"id": r.json()["id"], "kind": "asn", "value": "64500"},
    )
    r = client.post("/api/constituency", json={"asset": "AS64500"}, headers=bank.headers)
    assert r.status_code == 409
    r = client.post("/api/constituency", json={"asset": "bad domain"}, headers=bank.headers)
    assert r.status_code == 422 and "is not a domain name" in r.json()["message"]
    for who in (analyst, other):  # not an admin of it; an admin of another organisation
        r = client.post(
            f"/api/constituency?org_id={bank.org_id}", json={"asset": "x.cr"}, headers=who.headers
        )
        assert r.status_code == 403, r.text
        assert (
            client.get(f"/api/constituency?org_id={bank.org_id}", headers=who.headers).status_code
            == 403
        )
    r = client.post(
        f"/api/constituency?org_id={bank.org_id}", json={"asset": "banco.cr"}, headers=op.headers
    )
    assert r.status_code == 201, r.text
    listed = client.get("/api/constituency", headers=bank.headers).json()["assets"]
    assert [(a["kind"], a["value"]) for a in listed] == [("asn", "64500"), ("domain", "banco.cr")]
    r = client.delete(f"/api/constituency/{listed[0]['id']}", headers=other.headers)
    assert r.status_code == 404  # not in its own constituency
    r = client.delete(
        f"/api/constituency/{listed[0]['id']}?org_id={bank.org_id}", headers=other.headers
    )
    assert r.status_code == 403
    assert (
        client.delete(f"/api/constituency/{listed[0]['id']}", headers=bank.headers).status_code
        == 204
    )


def test_bulk_import_is_the_operators_and_all_or_nothing(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    op = _operator(sessions)
    bank = add_member(sessions, "Banco", role="admin")
    add_member(sessions, "Hospital", role="admin")
    good = "organisation,asset,kind\nBanco,203.0.113.0/24,\nhospital,AS64501,asn\nBanco,banco.cr,\n"
    bad = "organisation,asset\nBanco,203.0.113.0/24\nNadie,x.cr\nBanco,999.1.1.1/8\n\nBanco\n"
    headers = {**op.headers, "Content-Type": "text/csv"}
    r = client.post("/api/constituency/import", content=bad.encode(), headers=headers)
    assert r.status_code == 422
    message = r.json()["message"]
    assert message.startswith("nothing was imported: line 3: no organisation named 'Nadie'")
    assert "line 4: '999.1.1.1/8'" in message and "line 6: 1 columns" in message
    with sessions() as s:
        assert constituency.list_assets(s, None, bank.org_id) == []
    r = client.post("/api/constituency/import", content=good.encode(), headers=bank.headers)
    assert r.status_code == 403
    r = client.post("/api/constituency/import", content=good.encode(), headers=headers)
    assert r.json() == {"added": 3, "already": 0}
    r = client.post("/api/constituency/import", content=good.encode(), headers=headers)
    assert r.json() == {"added": 0, "already": 3}
    r = client.post("/api/constituency/import", content=b"a,b\n1,2\n", headers=headers)
    assert r.status_code == 422 and r.json()["message"].startswith("line 1:")


@pytest.fixture
def env(db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("MINGA_DATABASE_URL", db_url)
    return db_url


def test_command_line_import(env: str, sessions: sessionmaker[Session], tmp_path: Path) -> None:
    bank = add_member(sessions, "Banco", role="admin")
    runner = CliRunner()
    path = tmp_path / "constituents.csv"
    path.write_text("organisation,asset\nBanco,2001:db8::/32\nBanco,AS64500\n")
    r = runner.invoke(app, ["constituency", "import", str(path)])
    assert r.exit_code == 0, r.output
    assert "imported 2 assets" in r.output
    r = runner.invoke(app, ["constituency", "list", "Banco"])
    assert "2001:db8::/32" in r.output and "64500" in r.output
    path.write_text("organisation,asset\nBanco,not a thing at all\n")
    r = runner.invoke(app, ["constituency", "import", str(path)])
    assert r.exit_code != 0 and "line 2:" in r.output
    r = runner.invoke(app, ["constituency", "import", str(tmp_path / "missing.csv")])
    assert r.exit_code == 2 and "cannot read" in r.output
    with sessions() as s:
        assert len(constituency.list_assets(s, None, bank.org_id)) == 2
