"""`minga score refresh` and `minga score show`."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from minga.app import create_app
from minga.cli import app
from minga.correlate import scores
from minga.correlate.score_models import indicator_scores
from minga.intel import service as intel
from minga.intel.stix import now_ts
from minga.policy import Tlp
from minga.settings import Settings
from tests.conftest import add_member
from tests.factories import indicator

runner = CliRunner()


@pytest.fixture
def env(db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("MINGA_DATABASE_URL", db_url)
    return db_url


def test_refresh_recomputes_and_show_prints(env: str, sessions: sessionmaker[Session]):
    a = add_member(sessions, "Org A")
    ts = now_ts()
    fresh = indicator(1, created=ts, modified=ts, valid_from=ts, confidence=70)
    old = indicator(2)  # modified 2024-03-01: an IP that old has decayed to 0
    with sessions() as s:
        intel.create_objects(s, a.principal, [fresh, old], tlp=Tlp.GREEN)
        # Pretend the stored scores are stale.
        s.execute(update(indicator_scores).values(score=99))
        s.commit()
    r = runner.invoke(app, ["score", "refresh"])
    assert r.exit_code == 0, r.output
    assert "2 indicator scores recomputed" in r.output
    with sessions() as s:
        found = scores.score_of(s, [fresh["id"], old["id"]])
    assert found[old["id"]].score == 0
    assert 69 <= found[fresh["id"]].score <= 70
    shown = runner.invoke(app, ["score", "show", fresh["id"]])
    assert shown.exit_code == 0 and "70.0" in shown.output and "ip" in shown.output
    missing = runner.invoke(app, ["score", "show", "indicator--nope"])
    assert missing.exit_code == 1 and "no score for indicator--nope" in missing.output


def test_serving_node_refreshes_scores_in_the_background(
    db_url: str, engine: Engine, sessions: sessionmaker[Session]
):
    a = add_member(sessions, "Org A")
    with sessions() as s:
        intel.create_objects(s, a.principal, [indicator(3)], tlp=Tlp.GREEN)
        s.execute(update(indicator_scores).values(score=99))  # stale: it is 2024's
        s.commit()
    settings = Settings(
        database_url=db_url,
        ingest_worker_seconds=0,
        federation_receipts_seconds=0,
        score_refresh_seconds=0.2,
    )
    with TestClient(create_app(settings, engine=engine)):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with sessions() as s:
                if scores.score_of(s, [indicator(3)["id"]])[indicator(3)["id"]].score == 0:
                    break
            time.sleep(0.1)
        else:
            raise AssertionError("the background refresh did not run")


def test_organisation_default_confidence(env: str, sessions: sessionmaker[Session]):
    a = add_member(sessions, "Org A")
    b = add_member(sessions, "Org B")
    ts = now_ts()
    ind_a = indicator(4, created=ts, modified=ts, valid_from=ts, pattern="[file:hashes.MD5 = 'a']")
    ind_b = indicator(5, created=ts, modified=ts, valid_from=ts, pattern="[file:hashes.MD5 = 'b']")
    with sessions() as s:
        intel.create_objects(s, a.principal, [ind_a], tlp=Tlp.GREEN)
        intel.create_objects(s, b.principal, [ind_b], tlp=Tlp.GREEN)
        s.commit()
    r = runner.invoke(app, ["score", "confidence", "Org A", "80"])
    assert r.exit_code == 0 and "Org A: 80" in r.output
    with sessions() as s:
        found = scores.score_of(s, [ind_a["id"], ind_b["id"]])
    # A's indicator states no confidence: its organisation's 80; B's the node's 50.
    assert (found[ind_a["id"]].confidence, found[ind_b["id"]].confidence) == (80, 50)
    assert (found[ind_a["id"]].score, found[ind_b["id"]].score) == (80, 50)
    # A new indicator of A is scored with it at once.
    ind_c = indicator(6, created=ts, modified=ts, valid_from=ts, pattern="[file:hashes.MD5 = 'c']")
    with sessions() as s:
        intel.create_objects(s, a.principal, [ind_c], tlp=Tlp.GREEN)
        s.commit()
        assert scores.score_of(s, [ind_c["id"]])[ind_c["id"]].confidence == 80
    cleared = runner.invoke(app, ["score", "confidence", str(a.org_id), "--clear"])
    assert cleared.exit_code == 0 and "the node default (50)" in cleared.output
    assert runner.invoke(app, ["score", "confidence", "Org A", "101"]).exit_code == 2
    assert runner.invoke(app, ["score", "confidence", "Nobody", "5"]).exit_code == 2
