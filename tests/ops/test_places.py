"""Data quality: countries are ISO 3166-1 (XX and ZZ refused with a sentence), sectors a
controlled vocabulary (free-text spellings mapped, unknown ones refused) over REST and the
command line; the operator organisation `minga init` makes is not a community member."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from minga.accounts import service as accounts
from minga.accounts.places import SECTORS, check_sector, sector_label
from minga.cli import app
from minga.web.i18n import read_catalog
from tests.conftest import add_member

runner = CliRunner()


@pytest.mark.parametrize(
    ("typed", "key"),
    [("gobierno", "government"), ("Sector Público", "government"), ("Governo", "government"),
     ("Banca", "finance"), ("saúde", "health"), ("Telecomunicações", "telecommunications"),
     ("energy", "energy"), ("Water and wastewater", "water"), ("defense", "defence")],
)  # fmt: skip
def test_free_text_sectors_map_to_the_vocabulary(typed: str, key: str):
    assert check_sector(typed) == key


def test_every_sector_label_is_translated():
    for lang in ("es", "pt", "en"):
        catalog = read_catalog(lang)
        for key in [*SECTORS, "unknown"]:
            message = catalog.get(sector_label(key))
            assert message is not None and message.string, (lang, key)
    assert read_catalog("es").get(sector_label("government")).string.startswith("Gobierno")


def test_rest_refuses_private_use_countries_and_unknown_sectors(
    client: TestClient, sessions: sessionmaker[Session]
):
    operator = add_member(sessions, "Hub", role="admin")
    body = {"name": "CSIRT-X", "country": "XX", "sector": "government", "kind": "csirt"}
    for code in ("XX", "ZZ", "QM"):
        r = client.post(
            "/api/organisations", json={**body, "country": code}, headers=operator.headers
        )
        assert r.status_code == 422
        assert f"{code} is not an ISO 3166-1 country code" in r.json()["message"]
    r = client.post(
        "/api/organisations", json={**body, "country": "pa", "sector": "cosas"},
        headers=operator.headers,
    )  # fmt: skip
    assert r.status_code == 422 and "unknown sector 'cosas': use one of government" in r.text
    r = client.post(
        "/api/organisations", json={**body, "country": "pa", "sector": "gobierno"},
        headers=operator.headers,
    )  # fmt: skip
    assert r.status_code == 201 and (r.json()["country"], r.json()["sector"]) == (
        "PA",
        "government",
    )


def test_cli_refuses_them_too_and_init_keeps_the_operator_out_of_the_members(
    db_url: str, monkeypatch: pytest.MonkeyPatch, session: Session
):
    monkeypatch.setenv("MINGA_DATABASE_URL", db_url)
    assert runner.invoke(app, ["init"]).exit_code == 0
    r = runner.invoke(app, ["org", "create", "X", "--country", "ZZ", "--sector", "government"])
    assert r.exit_code == 2 and "ZZ is not an ISO 3166-1 country code" in " ".join(r.output.split())
    r = runner.invoke(app, ["org", "create", "X", "--country", "GT", "--sector", "cosas"])
    assert r.exit_code == 2 and "unknown sector 'cosas'" in r.output
    r = runner.invoke(app, ["org", "create", "CSIRT-GT", "--country", "gt", "--sector", "gobierno"])
    assert r.exit_code == 0, r.output
    members = [o.name for o in accounts.list_organisations(session, members_only=True)]
    everyone = [o.name for o in accounts.list_organisations(session)]
    assert members == ["CSIRT-GT"] and sorted(everyone) == ["CSIRT-GT", "Node operator"]
    gt = next(o for o in accounts.list_organisations(session) if o.name == "CSIRT-GT")
    assert gt.sector == "government"


def test_a_named_operator_organisation_is_a_member(
    db_url: str, monkeypatch: pytest.MonkeyPatch, session: Session
):
    monkeypatch.setenv("MINGA_DATABASE_URL", db_url)
    assert runner.invoke(app, ["init", "--org", "CSIRT-CR"]).exit_code == 0
    assert [o.name for o in accounts.list_organisations(session, members_only=True)] == ["CSIRT-CR"]
