"""What the taxii2-client does not check: order, pages, headers, parameters, errors, policy."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from minga.app import create_app
from minga.intel.stix import TLP2_MARKING_ID, ts_to_us, us_to_ts
from minga.policy import Tlp
from minga.settings import Settings
from tests.conftest import Member, add_member
from tests.factories import indicator, malware
from tests.taxii.conftest import OBJECTS, ROOT, TAXII, post_envelope, taxii_headers

MANIFEST = OBJECTS.replace("/objects/", "/manifest/")


def _get(client: TestClient, member: Member, url: str, **params: Any) -> Any:
    return client.get(url, params=params, headers=taxii_headers(member.token))


def _walk(client: TestClient, member: Member, url: str, limit: int, **params: Any) -> list[Any]:
    pages, nxt = [], None
    while True:
        extra = {"next": nxt} if nxt else {}
        r = _get(client, member, url, limit=limit, **params, **extra)
        assert r.status_code == 200, r.text
        pages.append(r)
        nxt = r.json().get("next")
        if not r.json().get("more"):
            return pages


def test_pages_are_ascending_bounded_and_without_duplicates(
    client: TestClient, sessions: sessionmaker[Session]
):
    a = add_member(sessions, "Org A")
    for start in (1, 9, 17):  # three requests, so date_added values come in three batches
        post_envelope(client, a.token, [indicator(n) for n in range(start, start + 8)])
    pages = _walk(client, a, MANIFEST, 5, **{"match[type]": "indicator"})
    assert [len(p.json()["objects"]) for p in pages] == [5, 5, 5, 5, 4]
    assert [p.json()["more"] for p in pages] == [True] * 4 + [False]
    assert ["next" in p.json() for p in pages] == [True] * 4 + [False]
    entries = [e for p in pages for e in p.json()["objects"]]
    assert [e["id"] for e in entries] == [indicator(n)["id"] for n in range(1, 25)]
    added = [ts_to_us(e["date_added"]) for e in entries]
    assert added == sorted(added) and len(set(added)) == 24
    for page in pages:
        objs = page.json()["objects"]
        assert page.headers["content-type"] == TAXII
        assert page.headers["x-taxii-date-added-first"] == objs[0]["date_added"]
        assert page.headers["x-taxii-date-added-last"] == objs[-1]["date_added"]
    objects = [o["id"] for p in _walk(client, a, OBJECTS, 7) for o in p.json()["objects"]]
    assert objects == [a.principal.identity_ref] + [e["id"] for e in entries]


def test_added_after_is_strictly_later_with_microseconds(
    client: TestClient, sessions: sessionmaker[Session]
):
    a = add_member(sessions, "Org A")
    post_envelope(client, a.token, [indicator(n) for n in range(1, 6)])
    entries = _get(client, a, MANIFEST, **{"match[type]": "indicator"}).json()["objects"]
    assert all(len(e["date_added"]) == len("2024-01-01T00:00:00.000000Z") for e in entries)
    r = _get(client, a, OBJECTS, added_after=entries[2]["date_added"])
    assert [o["id"] for o in r.json()["objects"]] == [indicator(4)["id"], indicator(5)["id"]]
    assert r.headers["x-taxii-date-added-first"] == entries[3]["date_added"]
    just_before = us_to_ts(ts_to_us(entries[2]["date_added"]) - 1)
    r = _get(client, a, OBJECTS, added_after=just_before)
    assert [o["id"] for o in r.json()["objects"]] == [indicator(n)["id"] for n in (3, 4, 5)]


def test_empty_result_is_an_empty_object(client: TestClient, sessions: sessionmaker[Session]):
    a = add_member(sessions, "Org A")
    for url in (OBJECTS, MANIFEST):
        r = _get(client, a, url, added_after="2999-01-01T00:00:00Z")
        assert (r.status_code, r.content, r.headers["content-type"]) == (200, b"{}", TAXII)
        assert "x-taxii-date-added-first" not in r.headers


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("limit", "0"),
        ("limit", "-3"),
        ("limit", "ten"),
        ("added_after", "yesterday"),
        ("added_after", "2024-01-01"),
        ("next", "bm90LW91cnM"),
        ("match[version]", "newest"),
        ("match[id]", "not-an-id"),
        ("match[type]", "Bad_Type"),
        ("match[spec_version]", "two"),
    ],
)
def test_malformed_parameters_are_400(
    client: TestClient, sessions: sessionmaker[Session], param: str, value: str
):
    a = add_member(sessions, "Org A")
    r = _get(client, a, OBJECTS, **{param: value})
    assert r.status_code == 400, r.text
    assert r.headers["content-type"] == TAXII
    assert set(r.json()) == {"title", "description", "http_status"}
    assert r.json()["http_status"] == "400"


def test_match_filters(client: TestClient, sessions: sessionmaker[Session]):
    a = add_member(sessions, "Org A")
    newer = "2024-03-05T00:00:00.000Z"
    post_envelope(client, a.token, [indicator(1), indicator(2), malware(1)])
    post_envelope(client, a.token, [indicator(1, modified=newer)])

    def ids(**params: Any) -> list[tuple[str, str]]:
        body = _get(client, a, OBJECTS, **params).json()
        return [(o["id"], o.get("modified", "")) for o in body.get("objects", [])]

    i1, i2, m1 = indicator(1)["id"], indicator(2)["id"], malware(1)["id"]
    base = "2024-03-01T12:00:00.000Z"
    assert ids(**{"match[type]": "malware"}) == [(m1, base)]
    assert ids(**{"match[type]": "indicator", "match[id]": f"{i1},{m1}"}) == [(i1, newer)]
    assert ids(**{"match[id]": i1, "match[version]": "first"}) == [(i1, base)]
    assert ids(**{"match[id]": i1, "match[version]": "all"}) == [(i1, base), (i1, newer)]
    assert ids(**{"match[id]": i1, "match[version]": "first,last"}) == [(i1, base), (i1, newer)]
    assert ids(**{"match[id]": i1, "match[version]": base}) == [(i1, base)]
    assert ids(**{"match[type]": "indicator", "match[spec_version]": "2.1"}) == [
        (i2, base),
        (i1, newer),
    ]
    assert ids(**{"match[spec_version]": "2.0"}) == []


def test_versions_of_an_observable_are_its_date_added(
    client: TestClient, sessions: sessionmaker[Session]
):
    a = add_member(sessions, "Org A")
    sco = {"type": "ipv4-addr", "id": "ipv4-addr--5e9ba6e5-bf2c-5d6a-8b1e-2b2f6a54fd05"}
    sco["value"] = "203.0.113.9"
    assert post_envelope(client, a.token, [sco]).json()["success_count"] == 1
    (entry,) = _get(client, a, MANIFEST, **{"match[type]": "ipv4-addr"}).json()["objects"]
    assert entry["version"] == entry["date_added"]
    r = _get(client, a, f"{OBJECTS}{sco['id']}/versions/")
    assert r.json() == {"more": False, "versions": [entry["date_added"]]}
    r = _get(client, a, f"{OBJECTS}{sco['id']}/", **{"match[version]": entry["date_added"]})
    assert [o["value"] for o in r.json()["objects"]] == ["203.0.113.9"]


def test_reposting_identical_objects_is_not_an_error(
    client: TestClient, sessions: sessionmaker[Session]
):
    a = add_member(sessions, "Org A")
    post_envelope(client, a.token, [indicator(1)])
    r = post_envelope(client, a.token, [indicator(1)])
    assert r.status_code == 202
    body = r.json()
    assert (body["status"], body["success_count"], body["failure_count"]) == ("complete", 1, 0)
    entries = _get(client, a, MANIFEST, **{"match[type]": "indicator"}).json()["objects"]
    assert [e["id"] for e in entries] == [indicator(1)["id"]]


def test_bad_objects_fail_alone_and_status_is_kept(
    client: TestClient, sessions: sessionmaker[Session]
):
    a = add_member(sessions, "Org A")
    b = add_member(sessions, "Org B")
    foreign = indicator(2, created_by_ref=b.principal.identity_ref)
    broken = indicator(3, pattern="[ipv4-addr:value = ")
    r = post_envelope(client, a.token, [indicator(1), foreign, broken])
    assert r.status_code == 202
    status = r.json()
    assert (status["total_count"], status["success_count"], status["failure_count"]) == (3, 1, 2)
    assert [f["id"] for f in status["failures"]] == [foreign["id"], broken["id"]]
    assert "created_by_ref" in status["failures"][0]["message"]
    assert "pattern" in status["failures"][1]["message"]
    again = _get(client, a, f"{ROOT}status/{status['id']}/")
    assert again.json() == status
    assert _get(client, b, f"{ROOT}status/{status['id']}/").status_code == 404
    assert _get(client, a, f"{ROOT}status/no-such-status/").status_code == 404


def test_status_lives_a_day_then_expires(client: TestClient, sessions: sessionmaker[Session]):
    from datetime import UTC, datetime, timedelta

    from minga.taxii.models import AddStatus

    a = add_member(sessions, "Org A")
    status_id = post_envelope(client, a.token, [indicator(1)]).json()["id"]
    with sessions() as s:
        row = s.get(AddStatus, status_id)
        assert row is not None
        assert row.expires_at - row.created_at >= timedelta(hours=24)
        row.expires_at = datetime.now(UTC) - timedelta(seconds=1)
        s.commit()
    assert _get(client, a, f"{ROOT}status/{status_id}/").status_code == 404


def test_what_a_caller_sees_is_the_policy(client: TestClient, sessions: sessionmaker[Session]):
    a = add_member(sessions, "Org A")
    b = add_member(sessions, "Org B")
    red = indicator(1, object_marking_refs=[TLP2_MARKING_ID[Tlp.RED]])
    green = indicator(2, object_marking_refs=[TLP2_MARKING_ID[Tlp.GREEN]])
    post_envelope(client, a.token, [red, green])
    seen_by_b = _get(client, b, OBJECTS, **{"match[type]": "indicator"}).json()["objects"]
    assert [o["id"] for o in seen_by_b] == [green["id"]]
    assert _get(client, b, f"{OBJECTS}{red['id']}/").status_code == 404
    assert _get(client, b, f"{OBJECTS}{red['id']}/versions/").status_code == 404
    seen_by_a = _get(client, a, OBJECTS, **{"match[type]": "indicator"}).json()["objects"]
    assert [o["id"] for o in seen_by_a] == [red["id"], green["id"]]


def test_media_types(client: TestClient, sessions: sessionmaker[Session]):
    a = add_member(sessions, "Org A")
    auth = {"Authorization": f"Bearer {a.token}"}
    for accept in ("application/taxii+json", TAXII, "*/*", "application/json, */*;q=0.1"):
        r = client.get(f"{ROOT}collections/", headers={**auth, "Accept": accept})
        assert (r.status_code, r.headers["content-type"]) == (200, TAXII), accept
    for accept in ("application/json", "application/taxii+json;version=2.0", "text/html"):
        r = client.get(f"{ROOT}collections/", headers={**auth, "Accept": accept})
        assert (r.status_code, r.headers["content-type"]) == (406, TAXII), accept
    for ctype in ("application/json", "application/taxii+json;version=2.0", ""):
        r = client.post(
            OBJECTS,
            content=b'{"objects": []}',
            headers=taxii_headers(a.token, **{"Content-Type": ctype}),
        )
        assert (r.status_code, r.headers["content-type"]) == (415, TAXII), ctype
    r = client.post(
        OBJECTS,
        content=b'{"objects": []}',
        headers=taxii_headers(a.token, **{"Content-Type": "application/taxii+json"}),
    )
    assert r.status_code == 202


def test_authentication(client: TestClient, sessions: sessionmaker[Session]):
    a = add_member(sessions, "Org A")
    r = client.get(f"{ROOT}collections/", headers={"Accept": TAXII})
    assert (r.status_code, r.headers["content-type"]) == (401, TAXII)
    assert r.headers["www-authenticate"] == 'Basic realm="minga", Bearer'
    assert r.json()["http_status"] == "401"
    r = client.get(f"{ROOT}collections/", headers=taxii_headers("mgt_wrong.token"))
    assert r.status_code == 401
    r = client.get(f"{ROOT}collections/", headers={"Accept": TAXII}, auth=("anyone", a.token))
    assert r.status_code == 200


def test_collections_filter_and_permissions(client: TestClient, sessions: sessionmaker[Session]):
    coordinator = add_member(sessions, "Hub", role="coordinator")
    a = add_member(sessions, "Org A")
    reader = add_member(sessions, "Org R", role="reader")

    def define(**body: Any) -> str:
        r = client.post("/api/taxii/collections", json=body, headers=coordinator.headers)
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    malware_only = define(title="Malware", alias="malware", filters={"types": ["malware"]})
    drop_box = define(title="Drop box", can_read=False, can_write=True)
    hidden = define(title="Hidden", can_read=False, can_write=False)
    post_envelope(client, a.token, [indicator(1), malware(1)])

    r = _get(client, a, f"{ROOT}collections/malware/objects/")
    assert [o["id"] for o in r.json()["objects"]] == [malware(1)["id"]]
    r = post_envelope(client, a.token, [malware(2)], f"{ROOT}collections/{malware_only}/objects/")
    assert r.status_code == 403
    assert _get(client, a, f"{ROOT}collections/{drop_box}/objects/").status_code == 403
    r = post_envelope(client, a.token, [indicator(5)], f"{ROOT}collections/{drop_box}/objects/")
    assert r.json()["success_count"] == 1
    assert _get(client, a, f"{ROOT}collections/{hidden}/").status_code == 404
    assert _get(client, a, f"{ROOT}collections/nope/objects/").status_code == 404

    listed = {
        c["title"]: c for c in _get(client, reader, f"{ROOT}collections/").json()["collections"]
    }
    assert sorted(listed) == ["All intelligence", "Drop box", "Malware"]
    assert listed["All intelligence"]["can_write"] is False  # a reader may not publish
    assert post_envelope(client, reader.token, [indicator(9)]).status_code == 403

    # A ref names a collection by id before one by alias: aliasing another's id takes nothing.
    define(title="Impostor", alias=malware_only, filters={"types": ["indicator"]})
    r = _get(client, a, f"{ROOT}collections/{malware_only}/objects/")
    assert [o["id"] for o in r.json()["objects"]] == [malware(1)["id"]]


def test_collection_admin_needs_a_coordinator(client: TestClient, sessions: sessionmaker[Session]):
    a = add_member(sessions, "Org A")
    coordinator = add_member(sessions, "Hub", role="coordinator")
    r = client.post("/api/taxii/collections", json={"title": "X"}, headers=a.headers)
    assert (r.status_code, r.json()["error"]) == (403, "forbidden")
    bad = {"title": "X", "filters": {"colour": ["red"]}}
    r = client.post("/api/taxii/collections", json=bad, headers=coordinator.headers)
    assert r.status_code == 422
    assert "unknown filter" in r.json()["message"]
    body = {"title": "Green", "alias": "green", "filters": {"tlps": ["TLP:GREEN"]}}
    r = client.post("/api/taxii/collections", json=body, headers=coordinator.headers)
    assert r.json()["filters"] == {"tlps": ["green"]}
    assert client.delete("/api/taxii/collections/green", headers=coordinator.headers).json() == {
        "deleted": r.json()["id"]
    }


def test_delete_is_for_the_owner_and_keeps_a_latest_version(
    client: TestClient, sessions: sessionmaker[Session]
):
    a = add_member(sessions, "Org A")
    b = add_member(sessions, "Org B")
    newer = "2024-03-05T00:00:00.000Z"
    post_envelope(client, a.token, [indicator(1), indicator(1, modified=newer)])
    url = f"{OBJECTS}{indicator(1)['id']}/"
    assert client.delete(url, headers=taxii_headers(b.token)).status_code == 403
    r = client.delete(url, params={"match[version]": newer}, headers=taxii_headers(a.token))
    assert (r.status_code, r.headers["content-type"]) == (200, TAXII)
    left = _get(client, b, url).json()["objects"]
    assert [o["modified"] for o in left] == ["2024-03-01T12:00:00.000Z"]
    assert client.delete(url, headers=taxii_headers(a.token)).status_code == 200
    assert _get(client, a, url).status_code == 404
    assert client.delete(url, headers=taxii_headers(a.token)).status_code == 404


def test_revocations_travel(client: TestClient, sessions: sessionmaker[Session]):
    a = add_member(sessions, "Org A")
    post_envelope(client, a.token, [indicator(1)])
    client.post(f"/api/objects/{indicator(1)['id']}/revoke", headers=a.headers)
    (obj,) = _get(client, a, OBJECTS, **{"match[type]": "indicator"}).json()["objects"]
    assert obj["revoked"] is True


def test_urls_outside_the_api(client: TestClient, sessions: sessionmaker[Session]):
    a = add_member(sessions, "Org A")
    r = _get(client, a, "/taxii2/api/nothing-here/")
    assert (r.status_code, r.headers["content-type"]) == (404, TAXII)
    r = client.put(f"{ROOT}collections/", headers=taxii_headers(a.token))
    assert (r.status_code, r.headers["content-type"]) == (405, TAXII)
    r = client.get(f"{ROOT}collections", headers=taxii_headers(a.token), follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (307, f"http://testserver{ROOT}collections/")


def test_next_cursor_is_stateless(settings: Settings, engine: Any, sessions: Any):
    a = add_member(sessions, "Org A")
    with TestClient(create_app(settings, engine=engine)) as first:
        post_envelope(first, a.token, [indicator(n) for n in range(1, 5)])
        page = _get(first, a, OBJECTS, limit=2).json()
    with TestClient(create_app(settings, engine=engine)) as second:  # a restarted node
        rest = _get(second, a, OBJECTS, limit=10, next=page["next"]).json()
    ids = [o["id"] for o in page["objects"] + rest["objects"]]
    assert ids == [a.principal.identity_ref] + [indicator(n)["id"] for n in range(1, 5)]
    assert rest["more"] is False
