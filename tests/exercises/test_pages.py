"""The drill pages in es/pt/en: create and start from the list, the control room, the team
view (acknowledge, answer, open an incident, publish, lessons), improvement actions, the
report; every exercise page shows the EXERCISE banner; bad input is a page with a message."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.exercises.conftest import T0, Drill, at_minute
from tests.incidents.conftest import PinnedClock
from tests.web.conftest import sign_in


def _browser(client: TestClient, token: str) -> tuple[TestClient, str]:
    web = TestClient(client.app)
    return web, sign_in(web, token)


def test_a_drill_through_the_pages(client: TestClient, drill: Drill) -> None:
    clock = PinnedClock(T0)
    client.app.state.incident_clock = clock  # type: ignore[attr-defined]
    director, dcsrf = _browser(client, drill.director.token)
    listed = director.get("/exercises?lang=es")
    assert "Ejercicios" in listed.text and "Costa Rica 2022" in listed.text
    scenario = re.search(r'option value="(\d+)">Ransomware against', listed.text)
    assert scenario is not None
    teams = [str(drill.team_a.org_id), str(drill.team_b.org_id)]
    form = {"csrf": dcsrf, "scenario": scenario.group(1), "name": "Simulacro", "lang": "es",
            "speed": "60", "teams": teams}  # fmt: skip
    bad = director.post("/exercises", data={**form, "speed": "fast"})
    assert bad.status_code == 422 and "Equipos y velocidad deben ser números." in bad.text
    bad = director.post("/exercises", data={**form, "teams": []})
    assert bad.status_code == 422 and "at least one team" in bad.text
    made = director.post("/exercises", data=form, follow_redirects=False)
    assert made.status_code == 303
    room = made.headers["location"]
    page = director.get(room + "?lang=es")
    assert (
        "EJERCICIO" in page.text and "Sala de control" in page.text and "planificado" in page.text
    )
    assert page.headers["X-Minga-Exercise"].startswith("exercise--")
    director.post(room + "/state/start", data={"csrf": dcsrf})
    assert "en curso" in director.get(room + "?lang=es").text
    team, tcsrf = _browser(client, drill.team_a.token)
    view = team.get(room + "?lang=pt")
    assert "EXERCÍCIO" in view.text and "Caixa de entrada" in view.text
    assert "Sala de controle" not in view.text  # a team sees its own side only
    ack = re.search(r'action="(/exercises/\d+/ack/\d+)"', view.text)
    assert ack is not None
    team.post(ack.group(1), data={"csrf": tcsrf})
    case = {"csrf": tcsrf, "title": "Second ministry", "severity": "high",
            "classification": 'rsit:malicious-code="infected-system"'}  # fmt: skip
    assert team.post(room + "/incident", data={**case, "severity": "x"}).status_code == 422
    team.post(room + "/incident", data=case)
    clock.at = at_minute(46)
    view = team.get(room + "?lang=en")
    assert "[EXERCISE] Second ministry" in view.text and "Acknowledged" in view.text
    case_link = re.search(r'href="(/incidents/\d+)">Incident #', view.text)
    assert case_link is not None
    assert "exercise-banner" in team.get(case_link.group(1) + "?lang=en").text
    answer = re.search(r'action="(/exercises/\d+/answer/\d+)"', view.text)
    assert answer is not None
    team.post(answer.group(1), data={"csrf": tcsrf, "answer": "Conti"})
    pattern = "[ipv4-addr:value = '203.0.113.45']"
    assert team.post(room + "/indicator", data={"csrf": tcsrf, "pattern": ""}).status_code == 422
    team.post(room + "/indicator", data={"csrf": tcsrf, "pattern": pattern, "name": "C2"})
    view = team.get(room + "?lang=en").text
    assert "Your answer: Conti" in view
    published = re.search(r"<code>(indicator--[0-9a-f-]+)</code> C2", view)
    assert published is not None
    shown = team.get(f"/objects/{published.group(1)}?lang=es").text
    assert "EJERCICIO" in shown and "exercise-banner" in shown
    assert team.post(room + "/state/end", data={"csrf": tcsrf}).status_code == 403
    # The incident the team opened is not in the real incident list.
    assert "Second ministry" not in team.get("/incidents?lang=en").text
    clock.at = at_minute(130)
    director.post(room + "/state/end", data={"csrf": dcsrf})
    team.post(room + "/lessons", data={"csrf": tcsrf, "q_gaps": "An out-of-band phone list"})
    director.post(room + "/actions", data={"csrf": dcsrf, "org": str(drill.team_a.org_id),
                                           "title": "Write the phone tree"})  # fmt: skip
    room_page = director.get(room + "?lang=en").text
    assert "Write the phone tree" in room_page and "met (automatic)" in room_page
    assert "scored: i4/answer (answer): met" in room_page  # the timeline says what was observed
    actions = team.get("/exercises/actions?lang=en").text
    assert "Write the phone tree" in actions
    action = re.search(r'action="(/exercises/actions/\d+)"', actions)
    assert action is not None
    refused = team.post(action.group(1), data={"csrf": tcsrf, "status": "done"})
    assert refused.status_code == 403  # an analyst: its coordinators track it
    director.post(action.group(1), data={"csrf": dcsrf, "status": "done"})
    report = director.get(room + "/report.html?lang=pt").text
    assert "Relatório pós-exercício" in report and "An out-of-band phone list" in report
    assert "concluída" in report
    pdf = team.get(room + "/report.pdf?lang=es")
    assert pdf.headers["content-type"] == "application/pdf"
    outsider, _ = _browser(client, drill.outsider.token)
    assert outsider.get(room).status_code == 404
