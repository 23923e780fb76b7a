"""Messages other than objects, on both backends: incident updates reach whoever may see the
incident when they are delivered, job outcomes their owner, notifications their recipient."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from minga.events import outbox, stream
from minga.events.stream import NOTIFICATION, StreamFilters, parse_filters
from minga.incidents import flows, service, work
from minga.incidents.service import IncidentIn
from minga.intel import service as intel
from minga.policy import Principal, Tlp
from tests.conftest import Member, add_member
from tests.factories import indicator, sid
from tests.incidents.conftest import T0, Community

SCALE = "low,medium,high,very-high"


def _told(
    sessions: sessionmaker[Session], who: Principal, after: int, f: StreamFilters | None = None
) -> list[stream.Message]:
    with sessions() as s:
        batch = stream.read(s, after, limit=1000)
    return stream.messages(who, f or StreamFilters(), batch)


def _start(sessions: sessionmaker[Session]) -> int:
    with sessions() as s:
        return outbox.last_seq(s)


def test_incident_updates_reach_only_those_who_may_see_the_incident(
    sessions: sessionmaker[Session], community: Community
) -> None:
    c = community
    start = _start(sessions)
    with sessions() as s:
        data = IncidentIn(
            title="Phishing against bank customers",
            classification="fraud:phishing",
            severity="high",
            assigned_org_ids=[c.isac.org_id],
        )
        incident = service.create_incident(s, c.victim.principal, data, severity_scale=SCALE, at=T0)
        s.commit()
        iid = incident.id
    with sessions() as s:
        service.set_status(s, c.victim.principal, iid, "in-progress", at=T0 + timedelta(hours=1))
        service.update_incident(
            s, c.isac.principal, iid, {"severity": "very-high"}, severity_scale=SCALE, at=T0
        )
        work.add_task(s, c.isac.principal, iid, title="Take the phishing site down", at=T0)
        s.commit()

    def changes(who: Member) -> list[str]:
        return [m.data["change"] for m in _told(sessions, who.principal, start)]

    expected = ["created", "status", "changed", "task"]
    assert changes(c.victim) == expected
    assert changes(c.isac) == expected
    assert changes(c.csirt) == expected  # the coordinator oversees cases below RED
    assert changes(c.outsider) == []
    told = _told(sessions, c.victim.principal, start)
    assert {m.event for m in told} == {"incident"}
    assert all(m.data["incident_id"] == iid and m.data["tlp"] == "amber" for m in told)
    assert told[1].data["status"] == "in-progress" and "very-high" in told[2].data["text"]
    # Decided when delivered: once the ISAC is no longer named, it is told nothing of the
    # case, not even what happened while it was.
    with sessions() as s:
        service.set_named(s, c.victim.principal, iid, c.isac.org_id, "assigned", remove=True, at=T0)
        s.commit()
    assert changes(c.isac) == []
    with sessions() as s:
        service.update_incident(
            s, c.victim.principal, iid, {"tlp": "red"}, severity_scale=SCALE, at=T0
        )
        s.commit()
    assert changes(c.csirt) == []
    assert changes(c.victim)[-1] == "changed"
    only_green = parse_filters(max_tlp="green")
    assert _told(sessions, c.victim.principal, start, only_green) == []


def test_escalation_and_acknowledgement_are_told_to_both_organisations(
    sessions: sessionmaker[Session], community: Community
) -> None:
    c = community
    with sessions() as s:
        data = IncidentIn(
            title="Ransomware", classification="malicious-code:infected-system", severity="high"
        )
        iid = service.create_incident(s, c.victim.principal, data, severity_scale=SCALE, at=T0).id
        s.commit()
    start = _start(sessions)
    with sessions() as s:
        hop = flows.escalate(
            s,
            c.victim.principal,
            iid,
            to_org_id=c.isac.org_id,
            tlp="amber",
            pap="amber",
            share=[],
            redact=[],
            ack_hours=4,
            severity_scale=SCALE,
            at=T0,
        )
        s.commit()
        opened = hop.to_incident_id
    with sessions() as s:
        flows.acknowledge(s, c.isac.principal, opened, at=T0 + timedelta(hours=1))
        s.commit()

    def told(who: Member) -> list[tuple[int, str]]:
        return [
            (m.data["incident_id"], m.data["change"]) for m in _told(sessions, who.principal, start)
        ]

    assert (opened, "escalated") in told(c.isac) and (opened, "acknowledged") in told(c.isac)
    assert (iid, "escalated") in told(c.victim) and (iid, "acknowledged") in told(c.victim)
    assert told(c.outsider) == []


def test_job_outcomes_reach_their_owner_only(sessions: sessionmaker[Session]) -> None:
    cr = add_member(sessions, "CSIRT-CR")
    other = add_member(sessions, "CSIRT-GT", country="GT")
    start = _start(sessions)
    with sessions() as s:
        outbox.emit(
            s,
            outbox.INGEST_JOB,
            actor_org_id=cr.org_id,
            actor_user_id=cr.user_id,
            subject="ingest-job:7",
            payload={"status": "done", "kind": "stix", "source": "feed.json", "error": None},
        )
        s.commit()
    told = _told(sessions, cr.principal, start)
    assert [(m.event, m.data["job_id"], m.data["status"]) for m in told] == [("job", 7, "done")]
    assert _told(sessions, other.principal, start) == []


def test_notifications_reach_their_recipient_while_it_may_see_the_evidence(
    sessions: sessionmaker[Session],
) -> None:
    cr = add_member(sessions, "CSIRT-CR")
    gt = add_member(sessions, "CSIRT-GT", country="GT")
    with sessions() as s:
        intel.create_objects(s, cr.principal, [indicator(1)], tlp=Tlp.GREEN)
        intel.create_objects(s, cr.principal, [indicator(2)], tlp=Tlp.RED)
        s.commit()
    start = _start(sessions)

    def notify(s: Session, n: int, **recipient: object) -> None:
        payload = {
            "recipient_org_id": gt.org_id,
            "recipient_user_id": None,
            "reason": "constituency",
            "value": f"198.51.100.{n}",
            "object_id": sid("indicator", n),
            "tlp": "green" if n == 1 else "red",
            "evidence": {},
            "title": f"198.51.100.{n} is in your constituency",
            **recipient,
        }
        outbox.emit(s, NOTIFICATION, payload=payload)

    with sessions() as s:
        notify(s, 1)
        notify(s, 2)  # evidence the recipient may not see: never told
        notify(s, 1, recipient_user_id=cr.user_id)
        s.commit()
    for_gt = _told(sessions, gt.principal, start)
    assert [(m.event, m.data["value"]) for m in for_gt] == [(NOTIFICATION, "198.51.100.1")]
    for_cr = _told(sessions, cr.principal, start)
    assert [m.data["recipient_user_id"] for m in for_cr] == [cr.user_id]
    no_notes = parse_filters(events=["object,incident"])
    assert _told(sessions, gt.principal, start, no_notes) == []


def test_min_score_keeps_indicators_scored_at_least_that(sessions: sessionmaker[Session]) -> None:
    from sqlalchemy import select

    from minga.correlate import sightings
    from minga.correlate.score_models import indicator_scores

    cr = add_member(sessions, "CSIRT-CR")
    gt = add_member(sessions, "CSIRT-GT", country="GT")
    start = _start(sessions)
    with sessions() as s:
        intel.create_objects(s, cr.principal, [indicator(1), indicator(2)], tlp=Tlp.GREEN)
        s.commit()
    with sessions() as s:  # seen by two organisations: its score rises
        sightings.record(s, cr.principal, sid("indicator", 1), count=5)
        sightings.record(s, gt.principal, sid("indicator", 1), count=5)
        s.commit()
        scores = dict(s.execute(select(indicator_scores.c.stix_id, indicator_scores.c.score)).all())
    high, low = scores[sid("indicator", 1)], scores[sid("indicator", 2)]
    assert high > low

    def told(min_score: int) -> list[str]:
        f = parse_filters(types=["indicator"], min_score=str(min_score))
        return [m.data["id"] for m in _told(sessions, cr.principal, start, f)]

    assert told(high) == [sid("indicator", 1)]  # the score is read when delivered
    assert told(low) == [sid("indicator", 1), sid("indicator", 2)]


def test_watched_keeps_only_what_the_watch_list_answers(sessions: sessionmaker[Session]) -> None:
    from dataclasses import replace

    from minga.events import watch

    cr = add_member(sessions, "CSIRT-CR")
    start = _start(sessions)
    with sessions() as s:
        watch.add_watch(s, cr.principal, watch.VALUE, "203.0.113.0/24")
        s.commit()
    with sessions() as s:
        items = [indicator(1, value="203.0.113.9"), indicator(2, value="198.51.100.7")]
        intel.create_objects(s, cr.principal, items, tlp=Tlp.GREEN)
        s.commit()
    with sessions() as s:
        mine = watch.watchlist(s, cr.principal.user_id)
    watched = replace(parse_filters(types=["indicator"]), watchlist=mine)
    assert [m.data["id"] for m in _told(sessions, cr.principal, start, watched)] == [
        sid("indicator", 1)
    ]
    everything = parse_filters(types=["indicator"])
    assert len(_told(sessions, cr.principal, start, everything)) == 2
