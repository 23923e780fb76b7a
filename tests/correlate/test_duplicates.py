"""No silent duplicates: a value an organisation publishes again — through REST, a CSV
re-import with another column mapping, or a second report — is stored once, as (versions of)
its existing indicator; other organisations keep their own, and the writer is told."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from minga.correlate.models import observables
from minga.ingest import drafts
from minga.intel import service as intel
from minga.intel.models import objects
from tests.conftest import add_member
from tests.factories import indicator, sid
from tests.ingest.test_drafts import REPORT_ES


def _held(sessions: sessionmaker[Session], org_id: int, value: str) -> list[str]:
    """The ids of the organisation's latest indicators naming `value`."""
    with sessions() as s:
        return list(
            s.execute(
                select(objects.c.stix_id)
                .join(observables, observables.c.object_pk == objects.c.pk)
                .where(
                    observables.c.value == value,
                    objects.c.owner_org_id == org_id,
                    objects.c.is_latest,
                    objects.c.type == "indicator",
                )
            ).scalars()
        )


def _versions(sessions: sessionmaker[Session], stix_id: str) -> int:
    with sessions() as s:
        return int(s.scalar(select(func.count()).where(objects.c.stix_id == stix_id)) or 0)


IP = "[ipv4-addr:value = '45.153.160.2']"


def test_rest_publishes_a_known_value_as_a_version(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    cr = add_member(sessions, "CSIRT-CR")
    gt = add_member(sessions, "CSIRT-GT")
    first = client.post(
        "/api/objects", json=indicator(1, pattern=IP, name="C2"), headers=cr.headers,
        params={"tlp": "green"},
    )  # fmt: skip
    assert first.status_code == 201 and first.json()["already_known"] == []
    # The same value under a new id, with something new to say: a new version of the first.
    again = indicator(2, pattern="[ipv4-addr:value = '45.153.160.002']", name="C2")
    again["pattern"] = IP
    again["description"] = "Seen again in March."
    second = client.post("/api/objects", json=again, headers=cr.headers, params={"tlp": "green"})
    assert second.status_code == 201, second.text
    [known] = second.json()["already_known"]
    assert (known["sent"], known["id"], known["new_version"]) == (
        sid("indicator", 2), sid("indicator", 1), True
    )  # fmt: skip
    assert [c["id"] for c in second.json()["created"]] == [sid("indicator", 1)]
    assert client.get(f"/api/objects/{sid('indicator', 2)}", headers=cr.headers).status_code == 404
    latest = client.get(f"/api/objects/{sid('indicator', 1)}", headers=cr.headers).json()
    assert latest["object"]["description"] == "Seen again in March."
    # Nothing new to say: nothing stored at all.
    third = indicator(3, pattern=IP, name="C2", description="Seen again in March.")
    r = client.post("/api/objects", json=third, headers=cr.headers, params={"tlp": "green"})
    assert r.status_code == 200 and r.json()["created"] == []
    assert r.json()["already_known"][0]["new_version"] is False
    assert _held(sessions, cr.org_id, "45.153.160.2") == [sid("indicator", 1)]
    assert _versions(sessions, sid("indicator", 1)) == 2
    # Another organisation keeps its own indicator, and both are told of the other.
    other = client.post(
        "/api/objects", json=indicator(4, pattern=IP), headers=gt.headers, params={"tlp": "green"}
    )
    assert other.status_code == 201
    assert other.json()["also_reported"] == [{"value": "45.153.160.2", "by": ["CSIRT-CR"]}]
    assert _held(sessions, gt.org_id, "45.153.160.2") == [sid("indicator", 4)]
    # Twice in one request: stored once.
    twice = [indicator(5, pattern="[domain-name:value = 'x.bad-host.net']"),
             indicator(6, pattern="[domain-name:value = 'X.Bad-Host.net']")]  # fmt: skip
    r = client.post("/api/objects", json=twice, headers=cr.headers)
    assert [c["id"] for c in r.json()["created"]] == [sid("indicator", 5)]
    assert _held(sessions, cr.org_id, "x.bad-host.net") == [sid("indicator", 5)]


CSV_ONE = "ip,description\n45.153.160.2,C2 del ransomware\n198.51.100.23,phishing\n"
CSV_TWO = "indicador;comentario;tipo\n45.153.160.2;C2 del ransomware;ip-dst\n"


def test_csv_reimports_with_any_mapping_store_a_value_once(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    cr = add_member(sessions, "CSIRT-CR")
    for status in (201, 200):  # the second import stores nothing new
        r = client.post(
            "/api/ingest?format=csv&filename=a.csv", content=CSV_ONE.encode(), headers=cr.headers
        )
        assert r.status_code == status, r.text
    assert r.json()["result"]["already_known_count"] == 2
    r = client.post(
        "/api/ingest?format=csv&filename=b.csv&map=indicador=value&map=comentario=description"
        "&map=tipo=type",
        content=CSV_TWO.encode(),
        headers=cr.headers,
    )
    assert r.status_code in (200, 201), r.text
    assert r.json()["result"]["already_known_count"] == 1
    assert len(_held(sessions, cr.org_id, "45.153.160.2")) == 1
    assert len(_held(sessions, cr.org_id, "198.51.100.23")) == 1


def test_a_second_report_links_its_known_indicators(sessions: sessionmaker[Session]) -> None:
    cr = add_member(sessions, "CSIRT-CR")
    reports = []
    for _ in range(2):
        with sessions() as s:
            draft = drafts.create_report_draft(s, cr.principal, REPORT_ES.encode(), "c.md", None)
            result = drafts.publish_draft(s, cr.principal, draft.id, selected=None)
            reports.append(drafts.get_draft(s, cr.principal, draft.id).report_id)
            s.commit()
    assert len(result.linked) == 3 and not any(k.new_version for k in result.linked)
    for value in ("45.153.160.2", "pagos-hacienda.com"):
        assert len(_held(sessions, cr.org_id, value)) == 1
    with sessions() as s:
        first, second = (intel.get_object(s, cr.principal, r).object() for r in reports)
    # The second report names the indicators the organisation already had.
    first_ind = [r for r in first["object_refs"] if r.startswith("indicator--")]
    second_ind = [r for r in second["object_refs"] if r.startswith("indicator--")]
    assert sorted(first_ind) == sorted(second_ind)
