"""The issue's "done when": a constituent is notified end to end: a feed row in (a CSV feed
through the ingest API) -> an e-mail (SMTP) and a signed webhook (HTTP) out, once."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from minga.events import notify_loop
from minga.settings import Settings
from tests.conftest import add_member
from tests.events.notify_helpers import Receiver, parts, receiving, smtp_server
from tests.ingest.test_misp_csv_stages import CSIRTAMERICAS


def test_a_feed_row_reaches_its_constituent_by_email_and_webhook_once(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    csirt = add_member(sessions, "CSIRT-CR")
    bank = add_member(sessions, "Banco Nacional", role="admin")
    other = add_member(sessions, "Otro Banco", role="admin")
    for asset in ("203.0.113.0/24", "phish-bank.com"):
        r = client.post("/api/constituency", json={"asset": asset}, headers=bank.headers)
        assert r.status_code == 201, r.text
    r = client.post("/api/constituency", json={"asset": "AS64500"}, headers=other.headers)
    assert r.status_code == 201, r.text
    r = client.put(
        "/api/notify/preferences",
        json={"email": "ana@banco.example", "language": "es", "mail_mode": "immediate"},
        headers=bank.headers,
    )
    assert r.status_code == 200, r.text
    receiver = Receiver()
    with smtp_server() as (inbox, port), receiving(receiver) as url:
        r = client.post(
            "/api/webhooks",
            json={"url": url, "organisation": True, "types": ["x-none"]},
            headers=bank.headers,
        )
        assert r.status_code == 201, r.text
        receiver.secret = r.json()["secret"]
        live = settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": port})
        notify_loop.run_once(sessions, live)  # the consumers start here

        r = client.post(
            "/api/ingest?format=csv&csv_preset=csirtamericas&filename=CR.csv&tlp=green",
            content=CSIRTAMERICAS.encode(),
            headers=csirt.headers,
        )
        assert r.status_code == 201, r.text
        first = notify_loop.run_once(sessions, live)
        again = notify_loop.run_once(sessions, live)

        again_row = "date,ip,type,country,description\n2024-05-03,203.0.113.9,botnet,cr,Mirai\n"
        r = client.post(  # the same address in the next day's file: nothing new to say
            "/api/ingest?format=csv&csv_preset=csirtamericas&filename=CR2.csv&tlp=green",
            content=again_row.encode(),
            headers=csirt.headers,
        )
        assert r.status_code == 201, r.text
        assert r.json()["result"]["created"] == 1
        later = notify_loop.run_once(sessions, live)

    expected = {"203.0.113.9", "phish-bank.com", "https://phish-bank.com/login"}
    # The webhook asked for no STIX type it will ever see: only the notifications reach it.
    assert receiver.bad_signatures == 0
    got = [x["body"] for x in receiver.received]
    assert all(x["event"] == "notification" for x in receiver.received)
    assert sorted(b["payload"]["value"] for b in got) == sorted(expected)
    assert {b["payload"]["reason"] for b in got} == {"constituency"}
    assert {b["payload"]["tlp"] for b in got} == {"green"}
    assert {b["payload"]["recipient_org_id"] for b in got} == {bank.org_id}
    assert all(b["payload"]["evidence"]["type"] == "indicator" for b in got)
    assert first.delivered == 3 and first.mailed == 3 and again.delivered == again.mailed == 0
    assert later.routed > 0 and later.delivered == later.mailed == 0

    assert sorted(rcpt for rcpt, _ in inbox.messages) == [["ana@banco.example"]] * 3
    subjects = sorted(" ".join(str(m["Subject"]).split()) for _, m in inbox.messages)
    assert subjects == sorted(
        f"[minga-node] Su constituencia: {v} aparece en nueva inteligencia" for v in expected
    )
    body = parts(inbox.messages[0][1])
    assert "TLP:GREEN" in body["text/plain"] and "TLP:GREEN" in body["text/html"]
