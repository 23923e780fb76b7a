"""The OASIS taxii2-client drives a live node end to end: discovery, collections, add objects,
status, a pagination walk, versions, manifest, one object, delete."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker
from taxii2client.v21 import Server, as_pages

from minga.taxii.models import DEFAULT_COLLECTION_ID
from tests.conftest import add_member
from tests.factories import indicator, malware

NEWER = "2024-03-02T12:00:00.000Z"


def test_taxii2_client_end_to_end(live: str, sessions: sessionmaker[Session]):
    a = add_member(sessions, "Org A")
    server = Server(f"{live}/taxii2/", user="taxii", password=a.token)
    assert server.title == "Minga node minga-node"
    assert [r.url for r in server.api_roots] == [f"{live}/taxii2/api/"]
    root = server.default
    assert root.versions == ["application/taxii+json;version=2.1"]
    (collection,) = root.collections
    assert (collection.id, collection.alias, collection.can_read, collection.can_write) == (
        DEFAULT_COLLECTION_ID,
        "all",
        True,
        True,
    )

    sent = [indicator(n) for n in range(1, 26)] + [malware(1)]
    status = collection.add_objects({"objects": sent}, wait_for_completion=True)
    assert (status.status, status.total_count, status.success_count, status.failure_count) == (
        "complete",
        26,
        26,
        0,
    )
    assert status.successes[0] == {"id": indicator(1)["id"], "version": indicator(1)["modified"]}
    again = root.get_status(status.id)
    assert again.success_count == 26

    seen: list[str] = []
    pages = list(as_pages(collection.get_objects, per_request=10))
    for envelope in pages:
        seen.extend(o["id"] for o in envelope["objects"])
    assert [len(p["objects"]) for p in pages] == [10, 10, 7]
    assert [p["more"] for p in pages] == [True, True, False]
    # The organisation's own identity was added first, then the objects in the order sent.
    assert seen == [a.principal.identity_ref] + [o["id"] for o in sent]

    manifest = list(as_pages(collection.get_manifest, per_request=20))
    entries = [e for page in manifest for e in page["objects"]]
    assert [e["id"] for e in entries] == seen
    assert entries[1]["version"] == "2024-03-01T12:00:00.000Z"
    assert entries[1]["media_type"] == "application/stix+json;version=2.1"

    newer = indicator(1, modified=NEWER, name="Indicator 1, revised")
    collection.add_objects({"objects": [newer]}, wait_for_completion=True)
    versions = collection.object_versions(indicator(1)["id"])
    assert versions["versions"] == ["2024-03-01T12:00:00.000Z", NEWER]
    latest = collection.get_object(indicator(1)["id"])
    assert [o["name"] for o in latest["objects"]] == ["Indicator 1, revised"]
    first = collection.get_object(indicator(1)["id"], version="first")
    assert [o["modified"] for o in first["objects"]] == ["2024-03-01T12:00:00.000Z"]
    both = collection.get_object(indicator(1)["id"], version="all")
    assert [o["modified"] for o in both["objects"]] == ["2024-03-01T12:00:00.000Z", NEWER]

    only_malware = collection.get_objects(type="malware")
    assert [o["id"] for o in only_malware["objects"]] == [malware(1)["id"]]

    collection.delete_object(indicator(2)["id"])
    assert collection.get_objects(id=indicator(2)["id"]) == {}
