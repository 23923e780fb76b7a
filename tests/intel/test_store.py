"""The object store's own guarantees: positions, one latest per id, conflicting duplicates."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from minga.errors import Conflict
from minga.events import outbox
from minga.intel import positions, service
from minga.intel.models import objects
from minga.intel.models import positions as positions_table
from minga.intel.service import ObjectQuery
from minga.intel.stix import TLP2_MARKING_ID, ts_to_us
from minga.policy import Tlp
from tests.conftest import add_member
from tests.factories import indicator, malware
from tests.taxii.conftest import OBJECTS, post_envelope, taxii_headers


def _rows(session: Session, stix_id: str) -> list[tuple[int, int, bool]]:
    stmt = (
        select(objects.c.modified_us, objects.c.added_us, objects.c.is_latest)
        .where(objects.c.stix_id == stix_id)
        .order_by(objects.c.modified_us)
    )
    return [tuple(r) for r in session.execute(stmt)]  # type: ignore[misc]


def test_the_database_refuses_a_second_latest_version(sessions: sessionmaker[Session]):
    a = add_member(sessions, "Org A")
    with sessions() as s:
        service.create_objects(s, a.principal, [indicator(1)])
        s.commit()
        row = dict(s.execute(select(objects).where(objects.c.is_latest)).mappings().first() or {})
        row.pop("pk")
        row.update(modified_us=row["modified_us"] + 1, modified="2024-03-01T12:00:00.000001Z")
        with pytest.raises(IntegrityError):
            s.execute(insert(objects).values(**row))
            s.flush()


def test_positions_grow_in_write_order_and_are_never_reused(sessions: sessionmaker[Session]):
    a = add_member(sessions, "Org A")
    with sessions() as s:
        service.create_objects(s, a.principal, [indicator(1), indicator(2)])
        s.commit()
        # A later batch whose clock is behind (here: the counter far ahead) still goes after.
        ahead = positions.lock(s) + 10_000_000_000
        positions.advance(s, ahead)
        s.commit()
        service.create_objects(s, a.principal, [indicator(3)])
        s.commit()
        service.delete_objects(s, a.principal, indicator(3)["id"])
        s.commit()
        service.create_objects(s, a.principal, [indicator(4)])
        s.commit()
        added = [_rows(s, indicator(n)["id"])[0][1] for n in (1, 2, 4)]
    assert added[1] == added[0] + 1  # one batch: consecutive positions
    # After the deleted one's position (ahead + 1), never on it; the outbox events of those
    # writes took the positions in between (`minga.events.outbox`).
    assert added[2] > ahead + 1
    with sessions() as s:
        events = outbox.read_after(s, 0)
        announced = [e.last_us for e in events if e.subject == indicator(3)["id"] and e.last_us]
    assert announced == [ahead + 1]


def test_a_store_without_the_counter_row_seeds_it_from_the_stored_positions(
    sessions: sessionmaker[Session],
):
    a = add_member(sessions, "Org A")
    with sessions() as s:
        service.create_objects(s, a.principal, [indicator(1)])
        s.commit()
        s.execute(delete(positions_table))
        s.execute(update(objects).values(added_us=objects.c.added_us + 10_000_000_000))
        s.commit()
        highest = _rows(s, indicator(1)["id"])[0][1]
        service.create_objects(s, a.principal, [indicator(2)])
        s.commit()
        assert _rows(s, indicator(2)["id"])[0][1] == highest + 1


def test_versions_and_deletes_keep_exactly_one_latest(sessions: sessionmaker[Session]):
    a = add_member(sessions, "Org A")
    v1, v2, v3 = (indicator(1, modified=f"2024-03-0{d}T00:00:00.000Z") for d in (2, 3, 4))
    with sessions() as s:
        service.create_objects(s, a.principal, [v3])
        service.create_objects(s, a.principal, [v1, v2])  # older ones arrive later
        s.commit()
        assert [latest for _, _, latest in _rows(s, v1["id"])] == [False, False, True]
        q = ObjectQuery(versions_us=[ts_to_us(v3["modified"])])
        service.delete_objects(s, a.principal, v1["id"], q)
        s.commit()
        assert [latest for _, _, latest in _rows(s, v1["id"])] == [False, True]


def test_a_conflicting_duplicate_is_a_conflict_and_stores_nothing(
    client: TestClient, sessions: sessionmaker[Session]
):
    a = add_member(sessions, "Org A")
    assert client.post("/api/objects?tlp=green", json=indicator(1), headers=a.headers).is_success
    changed = indicator(1, name="Something else")
    r = client.post("/api/objects", json=[indicator(2), changed], headers=a.headers)
    assert r.status_code == 409, r.text
    assert r.json()["error"] == "conflict"
    assert [(d["index"], d["id"]) for d in r.json()["details"]] == [(1, changed["id"])]
    got = client.get(f"/api/objects/{changed['id']}", headers=a.headers).json()
    assert got["object"]["name"] == "Indicator 1"
    assert client.get(f"/api/objects/{indicator(2)['id']}", headers=a.headers).status_code == 404

    # The same content is no conflict, whichever creator the store filled in; the TLP is the
    # store's sharing decision (an importer's default marks unmarked objects): it never moves.
    assert client.post("/api/objects", json=indicator(1), headers=a.headers).status_code == 200
    same = indicator(1, created_by_ref=a.principal.identity_ref, created="2024-03-01T12:00:00Z")
    same["object_marking_refs"] = [TLP2_MARKING_ID[Tlp.CLEAR]]
    r = client.post("/api/objects", json=same, headers=a.headers)
    assert (r.status_code, r.json()["existing"][0]["id"]) == (200, same["id"])
    got = client.get(f"/api/objects/{same['id']}", headers=a.headers).json()
    assert (got["meta"]["tlp"], got["object"]["object_marking_refs"]) == (
        "green",
        [TLP2_MARKING_ID[Tlp.GREEN]],
    )


def test_a_conflict_inside_one_request(client: TestClient, sessions: sessionmaker[Session]):
    a = add_member(sessions, "Org A")
    pair = [malware(1), malware(1, name="Other"), malware(1)]
    r = client.post("/api/objects", json=pair, headers=a.headers)
    assert r.status_code == 409
    assert [d["index"] for d in r.json()["details"]] == [1]
    with sessions() as s, pytest.raises(Conflict):
        service.create_objects(s, a.principal, pair)


def test_taxii_reports_a_conflicting_duplicate_as_a_failure(
    client: TestClient, sessions: sessionmaker[Session]
):
    a = add_member(sessions, "Org A")
    post_envelope(client, a.token, [indicator(1)])
    r = post_envelope(client, a.token, [indicator(2), indicator(1, name="Changed"), indicator(3)])
    status = r.json()
    assert (status["success_count"], status["failure_count"]) == (2, 1)
    assert [f["id"] for f in status["failures"]] == [indicator(1)["id"]]
    assert "different object" in status["failures"][0]["message"]
    assert {s["id"] for s in status["successes"]} == {indicator(2)["id"], indicator(3)["id"]}


@pytest.mark.parametrize(
    "cursor",
    [
        "zzz",
        "%%%",
        service.encode_cursor(2**70, 1, True),
        service.encode_cursor(1, 2**64, False),
        service.encode_cursor(-1, 1, False),
        "ZDo5OTk5OTk5OTk5OTk5OTk5OTk5OTk5Ojk5",  # d:9999...:99
    ],
)
def test_a_bad_cursor_is_a_400_with_a_message(
    client: TestClient, sessions: sessionmaker[Session], cursor: str
):
    a = add_member(sessions, "Org A")
    r = client.get("/api/objects", params={"cursor": cursor}, headers=a.headers)
    assert r.status_code == 400 and r.json()["message"], r.text
    r = client.get(OBJECTS, params={"next": cursor}, headers=taxii_headers(a.token))
    assert r.status_code == 400 and r.json()["description"], r.text
