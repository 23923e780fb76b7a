"""The object page's "Sightings and score" panel and its "I saw this too" form."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from minga.intel.stix import now_ts
from tests.conftest import add_member
from tests.factories import indicator
from tests.web.conftest import other_client, sign_in


def test_i_saw_this_too_from_the_object_page(client: TestClient, sessions: sessionmaker[Session]):
    a = add_member(sessions, "Org A")
    b = add_member(sessions, "Org B", country="GT")
    ts = now_ts()
    ind = indicator(1, created=ts, modified=ts, valid_from=ts, confidence=60)
    r = client.post("/api/objects?tlp=green", json=ind, headers=a.headers)
    assert r.status_code == 201
    csrf = sign_in(client, b.token)
    page = client.get(f"/objects/{ind['id']}")
    assert page.status_code == 200
    assert 'id="score"' in page.text and "<strong>60</strong>" in page.text
    assert "I saw this too" in page.text
    r = client.post(
        f"/objects/{ind['id']}/sightings",
        data={"csrf": csrf, "count": "4", "tlp": "green", "reach": "community"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    assert r.headers["location"] == f"/objects/{ind['id']}?sighted=1#sightings"
    shown = client.get(r.headers["location"]).text
    assert "Your sighting is recorded." in shown
    counts = re.search(r'id="sighting-counts">([^<]*)<', shown)
    assert counts is not None and counts.group(1) == "4 times, by 1 organisation"
    assert "<strong>70</strong>" in shown or "<strong>69</strong>" in shown
    assert "Org B" in shown and "(yours)" in shown
    # An anonymous false positive from a third organisation, seen by B in Spanish.
    c = add_member(sessions, "Org C")
    other = other_client(client)
    csrf_c = sign_in(other, c.token)
    r = other.post(
        f"/objects/{ind['id']}/sightings",
        data={"csrf": csrf_c, "false_positive": "1", "anonymous": "1", "tlp": "green"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    es = client.get(f"/objects/{ind['id']}?lang=es").text
    assert "Avistamientos y puntuación" in es and "Anónimo" in es and "Org C" not in es
    # The list shows the score beside each indicator.
    listed = client.get("/objects?type=indicator").text
    assert 'class="score"' in listed and "4 avistamientos" in listed


def test_form_without_csrf_or_with_bad_count_is_refused(
    client: TestClient, sessions: sessionmaker[Session]
):
    a = add_member(sessions, "Org A")
    ind = indicator(2)
    client.post("/api/objects?tlp=green", json=ind, headers=a.headers)
    csrf = sign_in(client, a.token)
    url = f"/objects/{ind['id']}/sightings"
    assert client.post(url, data={"count": "1"}, follow_redirects=False).status_code in (400, 403)
    bad = client.post(url, data={"csrf": csrf, "count": "many"}, follow_redirects=False)
    assert bad.status_code == 422 and "Some of the values sent are not valid" in bad.text


def test_sighting_shared_with_a_group_from_the_form(
    client: TestClient, sessions: sessionmaker[Session]
):
    from minga.accounts import service as accounts
    from tests.conftest import refresh

    a = add_member(sessions, "Org A")
    b = add_member(sessions, "Org B")
    c = add_member(sessions, "Org C")
    with sessions() as s:
        group = accounts.create_group(
            s, None, name="A and B", owner_org_id=b.org_id, member_org_ids=[a.org_id]
        )
        s.commit()
    a, b = refresh(sessions, a), refresh(sessions, b)
    ts = now_ts()
    ind = indicator(3, created=ts, modified=ts, valid_from=ts)
    client.post("/api/objects?tlp=green", json=ind, headers=c.headers)
    csrf = sign_in(client, b.token)
    assert 'name="group"' in client.get(f"/objects/{ind['id']}").text
    r = client.post(
        f"/objects/{ind['id']}/sightings",
        data={"csrf": csrf, "count": "2", "tlp": "red", "group": str(group.id)},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    # A (in the group) counts and names it; C (not in it) does not see it at all.
    for_a = client.get(f"/api/objects/{ind['id']}/sightings", headers=a.headers).json()
    assert [(s["organisation"], s["count"], s["tlp"]) for s in for_a["sightings"]] == [
        ("Org B", 2, "red")
    ]
    for_c = client.get(f"/api/objects/{ind['id']}/sightings", headers=c.headers).json()
    assert for_c["summary"]["sightings"] == 0 and for_c["sightings"] == []
