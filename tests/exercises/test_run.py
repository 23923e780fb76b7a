"""A complete exercise: two teams on the accelerated clock, injects by offset and by what a
team did not do, expectations scored by the platform and by an evaluator."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from minga.exercises import improve, play, run, service
from minga.exercises.mailing import mailer_for
from minga.exercises.models import Delivery, Outcome
from minga.exercises.report import report_html
from minga.incidents import flows
from minga.incidents import service as incidents
from minga.reports.pdf import html_to_pdf, pdf_text
from minga.settings import Settings
from minga.web import i18n
from minga.web.render import build_state
from tests.exercises.conftest import SCALE, T0, Drill, at_minute
from tests.test_mail import Inbox, _free_port

CTX = run.RunContext(severity_scale=SCALE)


def _tick(s: Session, d: Drill, minute: float) -> list[Delivery]:
    ex = service.get_exercise(s, d.director.principal, d.exercise_id)
    return run.tick(s, ex, at_minute(minute), CTX)


def _delivery(s: Session, d: Drill, team: int, inject: str) -> Delivery:
    stmt = select(Delivery).where(
        Delivery.exercise_id == d.exercise_id, Delivery.org_id == team, Delivery.inject == inject
    )
    return s.scalars(stmt).one()


def play_drill(sessions: sessionmaker[Session], d: Drill) -> None:
    """Team A does everything in time; team B acknowledges late, answers wrongly, does little."""
    a, b = d.team_a, d.team_b
    with sessions() as s:
        service.change_state(s, d.director.principal, d.exercise_id, "start", at=T0)
        delivered = _tick(s, d, 0)
        assert sorted((x.inject, x.org_id) for x in delivered) == [
            ("i1", a.org_id), ("i1", b.org_id)
        ]  # fmt: skip
        a_case = _delivery(s, d, a.org_id, "i1")
        play.acknowledge(s, a.principal, d.exercise_id, a_case.id, at=at_minute(5))
        flows.escalate(
            s, a.principal, a_case.incident_id, to_org_id=d.national.org_id, tlp="amber",
            pap="amber", share=[], redact=[], ack_hours=4, severity_scale=SCALE, at=at_minute(12),
        )  # fmt: skip
        s.commit()
    with sessions() as s:
        _tick(s, d, 20)  # i2 (intel) to both teams; i1 acknowledgement windows closed
        b_case = _delivery(s, d, b.org_id, "i1")
        play.acknowledge(s, b.principal, d.exercise_id, b_case.id, at=at_minute(21))
        a_intel = _delivery(s, d, a.org_id, "i2")
        assert a_intel.stix_id is not None
        play.publish(s, a.principal, d.exercise_id, [{
            "type": "indicator", "spec_version": "2.1",
            "id": "indicator--0b8e6c3e-5a1a-4a3b-9a55-7d1d6c0a4e01",
            "created": "2026-05-08T14:00:25.000Z", "modified": "2026-05-08T14:00:25.000Z",
            "name": "C2 seen in our logs", "pattern": "[ipv4-addr:value = '203.0.113.45']",
            "pattern_type": "stix", "valid_from": "2026-05-08T14:00:25.000Z",
        }], at=at_minute(25))  # fmt: skip
        play.open_incident(
            s, a.principal, d.exercise_id,
            incidents.IncidentIn(title="Labour ministry encrypted", severity="high",
                                 classification="malicious-code:infected-system"),
            severity_scale=SCALE, at=at_minute(30),
        )  # fmt: skip
        s.commit()
    with sessions() as s:
        _tick(s, d, 45)  # i3 (press); i3b to B only (A opened an incident); i4 question
        s.commit()
    with sessions() as s:
        q_a = _delivery(s, d, a.org_id, "i4")
        q_b = _delivery(s, d, b.org_id, "i4")
        play.answer(s, a.principal, d.exercise_id, q_a.id, "  Conti ", at=at_minute(47))
        play.answer(s, b.principal, d.exercise_id, q_b.id, "LockBit", at=at_minute(48))
        s.commit()
    with sessions() as s:
        service.change_state(s, d.director.principal, d.exercise_id, "pause", at=at_minute(50))
        s.commit()
    with sessions() as s:
        # Paused: ten real minutes pass, the exercise clock stands still, nothing is delivered.
        ex = service.get_exercise(s, d.director.principal, d.exercise_id)
        later = at_minute(50) + (at_minute(600) - at_minute(0))
        assert run.tick(s, ex, later, CTX) == []
        service.change_state(s, d.director.principal, d.exercise_id, "resume", at=later)
        assert service.get_exercise(s, d.director.principal, d.exercise_id).elapsed_s == 50 * 60
        s.commit()
        shift = later - at_minute(50)
    with sessions() as s:
        ex = service.get_exercise(s, d.director.principal, d.exercise_id)
        run.tick(s, ex, at_minute(120) + shift, CTX)  # the rest of the scenario
        brief = s.scalars(select(Outcome).where(
            Outcome.exercise_id == d.exercise_id, Outcome.org_id == a.org_id,
            Outcome.expectation == "brief",
        )).one()  # fmt: skip
        play.decide(s, d.evaluator.principal, d.exercise_id, brief.id, "met", note="clear",
                    at=at_minute(121) + shift)  # fmt: skip
        end = at_minute(130) + shift
        service.change_state(s, d.director.principal, d.exercise_id, "end", at=end)
        run.finish(s, ex, end)
        lessons = {"worked": "Escalation was fast", "gaps": "No out-of-band phone list"}
        improve.answer_lessons(s, a.principal, d.exercise_id, lessons, at=end)
        title = "Keep an out-of-band contact list"
        improve.add_action(s, d.director.principal, d.exercise_id, org_id=b.org_id, title=title,
                           at=end)  # fmt: skip
        s.commit()


def outcomes(s: Session, d: Drill, team: int) -> dict[str, str]:
    stmt = select(Outcome).where(Outcome.exercise_id == d.exercise_id, Outcome.org_id == team)
    return {f"{o.inject}/{o.expectation}": o.status for o in s.scalars(stmt)}


def test_two_teams_scored_automatically(sessions: sessionmaker[Session], drill: Drill) -> None:
    play_drill(sessions, drill)
    with sessions() as s:
        a = outcomes(s, drill, drill.team_a.org_id)
        b = outcomes(s, drill, drill.team_b.org_id)
        assert a == {
            "i1/ack": "met", "i1/escalate": "met", "i2/ack": "missed", "i2/publish": "met",
            "i4/answer": "met", "i7/brief": "met", "i8/ack": "missed", "i8/escalate": "missed",
        }  # fmt: skip
        # B: late acknowledgement, no escalation, wrong answer; i3b came because it opened no
        # incident 20 minutes after the indicator, and it still opened none.
        assert b == {
            "i1/ack": "missed", "i1/escalate": "missed", "i2/ack": "missed",
            "i2/publish": "missed", "i3b/incident": "missed", "i4/answer": "missed",
            "i7/brief": "pending", "i8/ack": "missed", "i8/escalate": "missed",
        }  # fmt: skip
        ex = service.get_exercise(s, drill.director.principal, drill.exercise_id)
        table = {t.name: (t.points, t.max_points) for t in play.scores(s, ex)}
        assert table == {"CSIRT Hacienda": (75, 110), "CSIRT Aduanas": (0, 125)}
        # The phone-call script went to the staff alone; teams never see it.
        phone = [x for x in play.inbox(s, drill.director.principal, ex) if x.kind == "phone"]
        assert len(phone) == 1 and phone[0].org_id is None
        assert all(x.kind != "phone" for x in play.inbox(s, drill.team_a.principal, ex))
        assert {x.org_id for x in play.inbox(s, drill.team_b.principal, ex)} == {
            drill.team_b.org_id
        }


def test_after_action_report_html_and_pdf(sessions: sessionmaker[Session], drill: Drill) -> None:
    play_drill(sessions, drill)
    state = build_state(b"k" * 32)
    with sessions() as s:
        i18n.activate(state.catalogs["pt"])
        now = T0 + timedelta(days=1)
        html = report_html(s, drill.director.principal, drill.exercise_id, state.env, "pt", now)
        assert "Relatório pós-exercício" in html and "EXERCÍCIO" in html
        assert "CSIRT Hacienda" in html and "75 / 110" in html and "0 / 125" in html
        assert "Keep an out-of-band contact list" in html and "No out-of-band phone list" in html
        text = " ".join(pdf_text(html_to_pdf(html)).split())  # cells wrap lines
        assert "Relatório pós-exercício" in text and "CSIRT Aduanas" in text
        assert "No out-of-band phone list" in text
        # A team's report shows its own results only.
        i18n.activate(state.catalogs["en"])
        mine = report_html(s, drill.team_b.principal, drill.exercise_id, state.env, "en", now)
        assert "After-action report" in mine and "CSIRT Aduanas" in mine
        assert "CSIRT Hacienda" not in mine


def test_email_injects_also_go_by_smtp(
    sessions: sessionmaker[Session], drill: Drill, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    settings = Settings(smtp_host="127.0.0.1", smtp_port=port, smtp_from="drill@hub.example")
    ctx = run.RunContext(SCALE, mailer_for(settings))
    down = Settings(smtp_host="127.0.0.1", smtp_port=_free_port(), smtp_from="drill@hub.example")
    with sessions() as s:
        ex = service.get_exercise(s, drill.director.principal, drill.exercise_id)
        for team in service.teams_of(s, ex):
            team.email = "soc@hacienda.example" if team.org_id == drill.team_a.org_id else ""
        service.change_state(s, drill.director.principal, drill.exercise_id, "start", at=T0)
        run.tick(s, ex, at_minute(20), ctx)
        # i3b (e-mail) is due at minute 40 for both teams: A by SMTP and inbox, B inbox only.
        run.tick(s, ex, at_minute(41), ctx)
        s.commit()
        [(rcpt, message)] = inbox.messages
        assert rcpt == ["soc@hacienda.example"]
        assert message["Subject"].startswith("[EXERCISE] Otro ministerio reporta")
        assert ex.ref in message.get_payload()
        emailed = {d.org_id: d.emailed for d in play.inbox(s, drill.director.principal, ex)
                   if d.inject == "i3b"}  # fmt: skip
        assert emailed == {drill.team_a.org_id: True, drill.team_b.org_id: False}
        # An SMTP server that is down: the inject still reaches the inbox, marked not e-mailed.
        sc = service.get_scenario(s, "isac-phishing-ransomware")
        other = service.create_exercise(
            s, drill.director.principal, scenario_id=sc.id, name="ISAC", lang="en", speed=60,
            team_org_ids=[drill.team_a.org_id], team_emails={drill.team_a.org_id: "soc@h.example"},
            at=T0,
        )  # fmt: skip
        service.change_state(s, drill.director.principal, other.id, "start", at=T0)
        [p1] = run.tick(s, other, T0, run.RunContext(SCALE, mailer_for(down)))
        assert p1.kind == "email" and p1.emailed is False and len(inbox.messages) == 1


def test_the_node_delivers_due_injects_without_anyone_looking(
    sessions: sessionmaker[Session], drill: Drill
) -> None:
    from minga.exercises.scheduler import tick_running

    settings = Settings()
    with sessions() as s:
        service.change_state(s, drill.director.principal, drill.exercise_id, "start",
                             at=incidents.utcnow())  # fmt: skip
        s.commit()
    assert tick_running(sessions, settings) == 2  # the first inject, to each team
    assert tick_running(sessions, settings) == 0  # delivered once
    with sessions() as s:
        got = s.scalars(select(Delivery).where(Delivery.exercise_id == drill.exercise_id)).all()
        assert sorted((d.inject, d.org_id) for d in got) == sorted(
            [("i1", drill.team_a.org_id), ("i1", drill.team_b.org_id)]
        )
        service.change_state(s, drill.director.principal, drill.exercise_id, "pause",
                             at=incidents.utcnow())  # fmt: skip
        s.commit()
    assert tick_running(sessions, settings) == 0  # a paused exercise is not ticked
