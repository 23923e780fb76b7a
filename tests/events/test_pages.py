"""The live panel of the dashboard and the objects list, in the reader's language."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import add_member
from tests.web.conftest import sign_in


def test_the_dashboard_and_the_objects_list_follow_the_live_stream(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    a = add_member(sessions, "Org A")
    sign_in(client, a.token)
    page = client.get("/", headers={"Accept-Language": "es"}).text
    assert (
        'data-live="/live?events=object%2Crevoked%2Csighting%2Cincident%2Cjob%2Cnotification"'
        in page
    )
    assert ">En vivo</h2>" in page and 'data-label-revoked="Revocado"' in page
    assert '<script src="/static/live.js" defer></script>' in page
    objects = client.get("/objects?lang=pt").text
    assert 'data-live="/live?events=object%2Crevoked%2Csighting"' in objects
    assert ">Ao vivo</h2>" in objects
    script = client.get("/static/live.js")
    assert script.status_code == 200 and "EventSource" in script.text
