"""`GET /api/stream` over a real server, on both backends: each reader is told exactly what
it may see, in commit order; a resumed reader misses nothing and repeats nothing; filters."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from minga.accounts import websessions
from minga.events import outbox
from minga.intel import service as intel
from minga.policy import Reach, Tlp
from minga.settings import Settings
from minga.web import auth
from tests.conftest import Member, add_member
from tests.events.sse import Msg, live_node, reading
from tests.factories import indicator, malware, sid


def _write(
    sessions: sessionmaker[Session], who: Member, objs: list[dict], **marking: object
) -> None:
    with sessions() as s:
        intel.create_objects(s, who.principal, objs, **marking)  # type: ignore[arg-type]
        s.commit()


def _is(stix_id: str, event: str = "object"):
    return lambda m: m.data.get("id") == stix_id and m.event == event


def _seen(found: list[Msg]) -> list[tuple[str, str]]:
    return [(m.event, m.data["id"]) for m in found]


def test_each_reader_gets_exactly_what_it_may_see_in_order(
    settings: Settings, engine: Engine, sessions: sessionmaker[Session]
) -> None:
    cr = add_member(sessions, "CSIRT-CR")
    gt = add_member(sessions, "CSIRT-GT", country="GT")
    marker = sid("indicator", 9)
    with (
        live_node(settings, engine) as node,
        reading(f"{node.url}/api/stream", headers=cr.headers) as mine,
        reading(f"{node.url}/api/stream", headers=gt.headers) as theirs,
    ):
        _write(sessions, cr, [indicator(1)], tlp=Tlp.GREEN)
        _write(sessions, cr, [indicator(2)], tlp=Tlp.RED)
        _write(sessions, cr, [indicator(3)], tlp=Tlp.GREEN, reach=Reach.ORGANISATION)
        _write(sessions, gt, [malware(4)], tlp=Tlp.AMBER)
        with sessions() as s:
            intel.revoke(s, cr.principal, sid("indicator", 1))
            s.commit()
        _write(sessions, cr, [indicator(9)], tlp=Tlp.GREEN)
        got_cr = mine.until(_is(marker))
        got_gt = theirs.until(_is(marker))
    assert _seen(got_cr) == [
        ("object", sid("indicator", 1)),
        ("object", sid("indicator", 2)),
        ("object", sid("indicator", 3)),
        ("object", sid("malware", 4)),  # AMBER shared with the community
        ("revoked", sid("indicator", 1)),
        ("object", marker),
    ]
    assert _seen(got_gt) == [
        ("object", sid("indicator", 1)),
        ("object", sid("malware", 4)),
        ("revoked", sid("indicator", 1)),
        ("object", marker),
    ]
    for found in (got_cr, got_gt):
        seqs = [m.id for m in found]
        assert all(m.id == m.data["seq"] for m in found)  # the SSE id is the event's seq
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert got_gt[1].data["tlp"] == "amber" and got_gt[1].data["object"]["name"] == "Conti"


def test_resuming_with_last_event_id_misses_nothing_and_repeats_nothing(
    settings: Settings, engine: Engine, sessions: sessionmaker[Session]
) -> None:
    cr = add_member(sessions, "CSIRT-CR")
    with sessions() as s:
        start = outbox.last_seq(s)
    for n in range(1, 4):  # committed before the reader comes: the catch-up reads them
        _write(sessions, cr, [indicator(n)], tlp=Tlp.GREEN)
    wanted = [("object", sid("indicator", n)) for n in range(1, 7)]
    with live_node(settings, engine) as node:
        url = f"{node.url}/api/stream"
        with reading(url, headers=cr.headers, params={"after": start}) as first:
            before = first.until(_is(sid("indicator", 2)))
        for n in range(4, 7):  # committed while the reader is away
            _write(sessions, cr, [indicator(n)], tlp=Tlp.GREEN)
        # A reconnecting EventSource keeps its URL (?after= the old start) and sends the
        # header, which wins.
        resume = {**cr.headers, "Last-Event-ID": str(before[-1].id)}
        with reading(url, headers=resume, params={"after": start}) as second:
            after = second.until(_is(sid("indicator", 6)))
    assert _seen(before + after) == wanted


def test_filters_pick_events_types_and_highest_tlp(
    settings: Settings, engine: Engine, sessions: sessionmaker[Session]
) -> None:
    cr = add_member(sessions, "CSIRT-CR")
    with sessions() as s:
        start = outbox.last_seq(s)
    _write(sessions, cr, [indicator(1), malware(2)], tlp=Tlp.GREEN)
    _write(sessions, cr, [indicator(3), malware(4)], tlp=Tlp.AMBER)
    for n in (1, 3):
        with sessions() as s:
            intel.revoke(s, cr.principal, sid("indicator", n))
            s.commit()
    _write(sessions, cr, [malware(5)], tlp=Tlp.CLEAR)
    with sessions() as s:
        intel.revoke(s, cr.principal, sid("malware", 5))
        s.commit()
    with live_node(settings, engine) as node:
        url = f"{node.url}/api/stream"
        only_malware = {"after": start, "types": "malware", "max_tlp": "TLP:GREEN"}
        with reading(url, headers=cr.headers, params=only_malware) as r:
            malware_seen = r.until(_is(sid("malware", 5), "revoked"))
        revocations = {"after": start, "events": "revoked", "max_tlp": "green"}
        with reading(url, headers=cr.headers, params=revocations) as r:
            revoked_seen = r.until(_is(sid("malware", 5), "revoked"))
    assert _seen(malware_seen) == [
        ("object", sid("malware", 2)),
        ("object", sid("malware", 5)),
        ("revoked", sid("malware", 5)),
    ]
    assert _seen(revoked_seen) == [
        ("revoked", sid("indicator", 1)),
        ("revoked", sid("malware", 5)),
    ]


def test_the_web_ui_reads_the_same_stream_with_its_session(
    settings: Settings, engine: Engine, sessions: sessionmaker[Session]
) -> None:
    cr = add_member(sessions, "CSIRT-CR")
    with sessions() as s:
        opened = websessions.open_session(
            s, cr.user_id, stage="complete", method="password", address="", user_agent="", hours=1
        )
        start = outbox.last_seq(s)
        s.commit()
    _write(sessions, cr, [indicator(1)], tlp=Tlp.AMBER)
    with live_node(settings, engine) as node:
        cookie = auth.issue_cookie(node.app.state.web.key, opened.key)
        headers = {"Cookie": f"{auth.SESSION_COOKIE}={cookie}"}
        with reading(f"{node.url}/live", headers=headers, params={"after": start}) as r:
            got = r.until(_is(sid("indicator", 1)))
    assert _seen(got) == [("object", sid("indicator", 1))]


def test_bad_filters_and_missing_credentials_are_refused(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    cr = add_member(sessions, "CSIRT-CR")
    bad = [
        ({"max_tlp": "purple"}, "unknown TLP"),
        ({"min_score": "high"}, "min_score"),
        ({"min_score": "101"}, "min_score"),
        ({"types": "Not A Type!"}, "STIX type"),
        ({"events": "object,gossip"}, "unknown event"),
        ({"after": "-3"}, "seq"),
    ]
    for params, words in bad:
        r = client.get("/api/stream", params=params, headers=cr.headers)
        assert r.status_code == 400, (params, r.text)
        assert words in r.json()["message"]
    r = client.get("/api/stream", headers={**cr.headers, "Last-Event-ID": "abc"})
    assert r.status_code == 400
    assert client.get("/api/stream").status_code == 401
    assert client.get("/live", headers={"Accept": "text/event-stream"}).status_code == 401
