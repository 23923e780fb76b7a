"""Routing: constituency matches and watch-list hits become notification events for those
who may see the evidence, once per value per period; and the digest e-mail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from minga.correlate import sightings
from minga.events import constituency, mailer, notify_loop, outbox, prefs, watch
from minga.events.routing import NOTIFICATION
from minga.intel import service as intel
from minga.policy import Tlp
from minga.settings import Settings
from tests.conftest import add_member
from tests.events.notify_helpers import parts, smtp_server
from tests.factories import indicator, sid


def _notes(sessions: sessionmaker[Session]) -> list[dict]:
    with sessions() as s:
        return [e.payload for e in outbox.read_after(s, 0, limit=1000, kinds=[NOTIFICATION])]


def test_constituents_hear_only_what_they_may_see_and_once(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    hub = add_member(sessions, "CSIRT-CR")
    bank = add_member(sessions, "Banco", role="admin")
    with sessions() as s:
        constituency.add_asset(s, None, bank.org_id, "198.51.100.0/24")
        s.commit()
    notify_loop.run_once(sessions, settings)
    with sessions() as s:
        intel.create_objects(s, hub.principal, [indicator(1, value="198.51.100.1")], tlp=Tlp.RED)
        intel.create_objects(s, bank.principal, [indicator(2, value="198.51.100.2")], tlp=Tlp.GREEN)
        intel.create_objects(s, hub.principal, [indicator(3, value="203.0.113.3")], tlp=Tlp.GREEN)
        s.commit()
    notify_loop.run_once(sessions, settings)
    # RED without naming the bank: it may not see it, so nothing is said; its own: nothing new.
    assert _notes(sessions) == []
    with sessions() as s:  # another organisation sights the bank's own indicator
        sightings.record(s, hub.principal, sid("indicator", 2), tlp=Tlp.GREEN)
        intel.create_objects(s, hub.principal, [indicator(4, value="198.51.100.2")], tlp=Tlp.AMBER)
        s.commit()
    notify_loop.run_once(sessions, settings)
    [note] = _notes(sessions)
    assert (note["reason"], note["value"], note["recipient_org_id"]) == (
        "constituency", "198.51.100.2", bank.org_id
    )  # fmt: skip
    assert note["evidence"]["type"] == "sighting" and note["tlp"] == "green"
    assert note["recipient_user_id"] is None and note["object_id"].startswith("sighting--")


def test_watch_lists_hear_updates_sightings_and_reports_from_abroad(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    cr = add_member(sessions, "CSIRT-CR")
    ana = add_member(sessions, "Analista CR", country="CR")
    gt = add_member(sessions, "CSIRT-GT", country="GT")
    with sessions() as s:
        intel.create_objects(s, cr.principal, [indicator(1, value="192.0.2.1")], tlp=Tlp.GREEN)
        watch.add_watch(s, ana.principal, "object", sid("indicator", 1))
        watch.add_watch(s, ana.principal, "value", "EVIL.example.", abroad_only=True)
        watch.add_watch(s, ana.principal, "value", "192.0.2.0/28")
        s.commit()
    notify_loop.run_once(sessions, settings)
    evil = "[domain-name:value = 'cdn.evil.example']"
    with sessions() as s:
        intel.create_objects(s, cr.principal, [indicator(2, pattern=evil)], tlp=Tlp.GREEN)
        intel.create_objects(s, gt.principal, [indicator(3, pattern=evil)], tlp=Tlp.GREEN)
        intel.create_objects(s, gt.principal, [indicator(4, value="192.0.2.9")], tlp=Tlp.GREEN)
        sightings.record(s, gt.principal, sid("indicator", 1), tlp=Tlp.GREEN)
        intel.revoke(s, cr.principal, sid("indicator", 1))
        s.commit()
    notify_loop.run_once(sessions, settings)
    notes = _notes(sessions)
    assert {n["recipient_user_id"] for n in notes} == {ana.user_id}
    got = sorted((n["value"], n["evidence"]["event"], n["object_id"].split("--")[0]) for n in notes)
    assert got == [
        ("192.0.2.0/28", "object", "indicator"),  # indicator 4, inside the watched network
        ("evil.example", "object", "indicator"),  # from GT only: CR's is not from abroad
        (sid("indicator", 1), "revoked", "indicator"),
        (sid("indicator", 1), "sighting", "sighting"),  # one per item: the first watch it hits
    ]
    titles = {n["title"] for n in notes if n["value"] == "evil.example"}
    assert titles == {
        "evil.example (on your watch list): a indicator was reported, reported from GT"
    }
    with sessions() as s:
        wl = watch.watchlist(s, ana.user_id)
    assert len(wl.watches) == 3


def test_a_digest_gathers_a_days_notifications_in_the_users_language(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    hub = add_member(sessions, "CSIRT-BR", country="BR")
    bank = add_member(sessions, "Banco BR", role="admin", country="BR")
    with sessions() as s:
        constituency.add_asset(s, None, bank.org_id, "banco.example.br")
        prefs.set_prefs(
            s, bank.principal, email="ti@banco.example", language="pt", mail_mode="digest"
        )
        s.commit()
    with smtp_server() as (inbox, port):
        live = settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": port})
        notify_loop.run_once(sessions, live)
        with sessions() as s:
            for n, host in enumerate(["a.banco.example.br", "b.banco.example.br"]):
                pattern = f"[domain-name:value = '{host}']"
                intel.create_objects(
                    s, hub.principal, [indicator(n, pattern=pattern)], tlp=Tlp.AMBER
                )
            s.commit()
        assert notify_loop.run_once(sessions, live).mailed == 0  # not a day yet
        tomorrow = datetime.now(UTC) + timedelta(days=1, minutes=1)
        assert mailer.send_due(sessions, live, now=tomorrow) == 1
        assert mailer.send_due(sessions, live, now=tomorrow) == 0
    [(rcpt, message)] = inbox.messages
    assert rcpt == ["ti@banco.example"]
    assert " ".join(str(message["Subject"]).split()) == "[minga-node] Resumo: 2 notificações"
    body = parts(message)
    for text in (body["text/plain"], body["text/html"]):
        assert "a.banco.example.br" in text and "b.banco.example.br" in text
        assert "trate-o de acordo com TLP:AMBER" in text
    with sessions() as s:
        statuses = s.scalars(select(mailer.notify_mail.c.status)).all()
    assert statuses == ["sent", "sent"]
